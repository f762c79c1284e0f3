"""seqnotes.transformer against nn.TransformerEncoderLayer / DecoderLayer, and the models built on them."""

from __future__ import annotations

import itertools
import math
import pickle

import pytest
import torch
from torch import nn

from seqnotes.measure.reader import translate
from seqnotes.models.attention import causal_mask, padding_mask
from seqnotes.models.lm import LanguageModel, evaluate
from seqnotes.models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer
from seqnotes.models.transformer import (
    DecoderLayer,
    EncoderLayer,
    TransformerLM,
    TransformerLMConfig,
    sinusoidal_positional_encoding,
)
from seqnotes.tasks.numbers import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SRC_TOKENS,
    TGT_TOKENS,
    decode_readings,
    encode_numbers,
    encode_readings,
    make_split,
    number_batches,
    reading,
    round_number,
    sample_numbers,
)
from seqnotes.training.loop import fit
from seqnotes.training.schedules import warmup_cosine

ATOL = 1e-5


def test_positional_encoding_formula_and_odd_d_model() -> None:
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    pos, i = 7, 3
    assert math.isclose(float(pe[pos, 2 * i]), math.sin(pos / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    assert math.isclose(float(pe[pos, 2 * i + 1]), math.cos(pos / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    # the dot product of two positions depends only on their distance
    torch.testing.assert_close(pe[3] @ pe[8], pe[20] @ pe[25], atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positional_encoding(10, 7)
    with pytest.raises(ValueError, match="positive int"):
        sinusoidal_positional_encoding(0, 8)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first: bool) -> None:
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = EncoderLayer.from_torch(theirs)
    x = torch.randn(3, 6, 16)
    keep = padding_mask(torch.tensor([6, 3, 5]), 6)  # (B, T) True = real
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = ours(x1, keep[:, None, None, :])
    ref = theirs(x2, src_key_padding_mask=~keep)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out.pow(2).sum().backward()
    ref.pow(2).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-4, rtol=0)
    torch.testing.assert_close(ours.ff.linear1.weight.grad, theirs.linear1.weight.grad, atol=1e-4, rtol=0)
    # causal self-attention (a decoder-only block) with a bool mask of the opposite convention
    out = ours(x, causal_mask(6))
    ref = theirs(x, src_mask=~causal_mask(6))
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first: bool) -> None:
    torch.manual_seed(1)
    theirs = nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = DecoderLayer.from_torch(theirs)
    y = torch.randn(2, 5, 16)
    memory = torch.randn(2, 7, 16)
    keep = padding_mask(torch.tensor([7, 4]), 7)  # (B, S)
    y1, y2 = y.clone().requires_grad_(), y.clone().requires_grad_()
    out = ours(y1, memory, causal_mask(5), keep[:, None, None, :])
    ref = theirs(y2, memory, tgt_mask=~causal_mask(5), memory_key_padding_mask=~keep)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(y1.grad, y2.grad, atol=1e-4, rtol=0)
    torch.testing.assert_close(
        ours.cross_attn.out_proj.weight.grad, theirs.multihead_attn.out_proj.weight.grad, atol=1e-4, rtol=0
    )


def test_layers_reject_bad_input() -> None:
    layer = EncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 8\)"):
        layer(torch.randn(2, 3, 6))
    dec = DecoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"memory must have shape \(2, S, 8\)"):
        dec(torch.randn(2, 3, 8), torch.randn(3, 4, 8))
    with pytest.raises(ValueError, match="batch_first=True"):
        EncoderLayer.from_torch(nn.TransformerEncoderLayer(8, 2, 16))
    with pytest.raises(TypeError, match="TransformerDecoderLayer"):
        DecoderLayer.from_torch(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True))


def _tiny_model(seed: int = 0) -> Seq2SeqTransformer:
    torch.manual_seed(seed)
    V_src, V_tgt = len(SRC_TOKENS), len(TGT_TOKENS)
    config = Seq2SeqConfig(V_src, V_tgt, d_model=32, num_heads=2, d_ff=64, context_size=24)
    return Seq2SeqTransformer(config)


def test_seq2seq_forward_shapes_loss_and_attention_weights() -> None:
    model = _tiny_model()
    numbers = [7, 1024, 123456]
    src = encode_numbers(numbers)
    tgt_in, tgt_out = encode_readings(numbers)
    logits, loss = model(src, tgt_in, tgt_out)
    assert logits.shape == (3, tgt_in.size(1), len(TGT_TOKENS))
    assert abs(float(loss.detach()) - math.log(len(TGT_TOKENS))) < 1.5
    maps = model.attention_weights()
    assert maps["cross"][0].shape == (3, 2, tgt_in.size(1), src.size(1))
    assert maps["encoder"][0].shape == (3, 2, src.size(1), src.size(1))
    assert bool((maps["decoder"][1].triu(1) == 0).all())  # masked self-attention: lower triangle
    assert bool((maps["cross"][0][0, :, :, 1:] == 0).all())  # "7" has one digit: padding gets no weight
    with pytest.raises(ValueError, match=r"src must have shape \(B, T\)"):
        model(src[0], tgt_in)
    with pytest.raises(ValueError, match="context_size=24"):
        model(torch.ones(1, 30, dtype=torch.long), tgt_in[:1])


def test_greedy_decoding_of_a_tiny_trained_model_is_deterministic() -> None:
    split = make_split(max_digits=2, seed=0)
    model = _tiny_model(seed=3)
    get_batch = number_batches(split, 64, torch.Generator().manual_seed(0))
    history = fit(model, get_batch, steps=120, lr=3e-3)
    assert history.loss[-1] < 0.3 * history.loss[0]
    numbers = list(range(1, 100))
    src = encode_numbers(numbers)
    first = model.greedy_decode(src, 10, BOS_ID, EOS_ID)
    again = model.greedy_decode(src, 10, BOS_ID, EOS_ID)
    assert torch.equal(first, again)
    one_by_one = [model.greedy_decode(src[i : i + 1], 10, BOS_ID, EOS_ID)[0] for i in (0, 41, 98)]
    for i, row in zip((0, 41, 98), one_by_one, strict=True):  # batching changes nothing
        assert decode_readings(row[None])[0] == decode_readings(first[i : i + 1])[0]
    texts = decode_readings(first)
    accuracy = sum(t == reading(n) for t, n in zip(texts, numbers, strict=True)) / len(numbers)
    assert accuracy > 0.5
    ids, probs = model.greedy_decode(src, 10, BOS_ID, EOS_ID, return_probs=True)
    assert torch.equal(
        ids[:, : probs.size(1)].masked_fill(ids == PAD_ID, 0), ids.masked_fill(ids == PAD_ID, 0)
    )
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:2]))
    beam = translate(model, numbers, method="beam", beam_size=3)
    assert beam == translate(model, numbers, method="beam", beam_size=3)
    assert translate(model, numbers, method="beam", beam_size=1) == texts


def test_saved_model_loads_with_weights_only(tmp_path) -> None:
    model = _tiny_model()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    state = torch.load(path, weights_only=True)
    twin = _tiny_model(seed=5)
    twin.load_state_dict(state)
    src = encode_numbers([42])
    torch.testing.assert_close(model.encode(src), twin.encode(src))


def test_number_data() -> None:
    assert reading(1024) == "천이십사" and reading(123456) == "십이만 삼천사백오십육"
    split = make_split(max_digits=6, test_per_length=50, round_per_length=20, seed=1)
    groups = split.test_by_length()
    assert [len(groups[L]) for L in range(1, 7)] == [1, 9, 50, 50, 50, 50]
    assert len(split.test_round) == 40 and not set(split.test_round) & set(split.test)

    def mean_zeros(numbers: list[int]) -> float:
        return sum(str(n).count("0") for n in numbers) / len(numbers)

    assert mean_zeros(split.test_round) > 2 * mean_zeros(groups[5] + groups[6])
    drawn = sample_numbers(split, 2400, torch.Generator().manual_seed(0), round_fraction=0.5)
    assert not any(split.is_test(n) for n in drawn)
    lengths = [len(str(n)) for n in drawn]
    assert all(300 < lengths.count(L) < 500 for L in range(1, 7))  # uniform over the number of digits
    assert round_number(9, torch.Generator().manual_seed(0)) >= 10**8
    tgt_in, tgt_out = encode_readings([5, 10000])
    assert decode_readings(tgt_out) == ["오", "만"] and bool((tgt_in[:, 0] == BOS_ID).all())
    with pytest.raises(ValueError, match=r"\[1, 10\*\*15\)"):
        reading(0)
    with pytest.raises(TypeError, match="int"):
        encode_numbers(["12"])


def test_transformer_lm_is_a_causal_language_model() -> None:
    torch.manual_seed(0)
    config = TransformerLMConfig(
        vocab_size=11, context_size=16, d_model=32, num_heads=4, num_layers=2, d_ff=64
    )
    model = TransformerLM(config).eval()
    assert isinstance(model, LanguageModel) and model.context_size == 16
    idx = torch.randint(0, 11, (2, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 10, 11) and loss is not None
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 11  # changing the future ...
    torch.testing.assert_close(model(changed)[0][:, :6], logits[:, :6])  # ... leaves the past unchanged
    with pytest.raises(ValueError, match="context_size=16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"in \[0, 11\)"):
        model(torch.full((1, 3), 11))
    # it learns: a repeating pattern becomes almost certain
    ids = torch.arange(11).repeat(40)  # (440,)
    x, y = ids[:-1].unfold(0, 16, 8), ids[1:].unfold(0, 16, 8)
    model.train()
    fit(model, lambda step: (x, y), steps=40, lr=3e-3)
    assert evaluate(model, ids, block_size=16)["perplexity"] < 1.5
    pickle.dumps(model.state_dict())


def test_warmup_cosine_schedule() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup_steps=4, total_steps=12)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a >= b for a, b in itertools.pairwise(lrs[3:])) and lrs[-1] < 0.05
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_cosine(opt, warmup_steps=12, total_steps=12)


def test_digit_positions_silent_man_and_decoder_changes() -> None:
    from seqnotes.measure.reader import decoder_changes, digit_positions, exact_match, silent_man

    assert digit_positions(1024) == [2, 3]  # 천이십사: the 1 before 천 is silent, the 0 unread
    assert digit_positions(10000) == [] and digit_positions(100010000) == [0]  # 만 / 일억 만
    assert digit_positions(110000) == [1]  # 십일만: the 1 of 만 is read when 만's group is 11
    assert digit_positions(300020001) == [0, 4, 8]
    for n in make_split(max_digits=9, test_per_length=30, round_per_length=30, seed=2).test_round:
        digit_positions(n)  # the rule agrees with num2words (it raises otherwise)
    assert silent_man(300000001) and silent_man(1200001234) and not silent_man(300010001)
    assert not silent_man(10000)
    assert exact_match([1, 2], ["일", "삼"]) == 0.5
    assert decoder_changes([1, 2, 3], ["일", "삼", "삼"], ["이", "이", "삼"]) == {
        "changed": 2,
        "fixed": 1,
        "broken": 1,
    }
    with pytest.raises(ValueError, match="equal length"):
        exact_match([1], [])
    with pytest.raises(ValueError, match="lengths"):
        decoder_changes([1], ["일"], [])


def test_alignment_share_and_evaluate_reader_of_a_tiny_model() -> None:
    from seqnotes.measure.reader import alignment_share, evaluate_reader
    from seqnotes.training.recipes import train_number_reader

    split = make_split(max_digits=9, test_per_length=3, round_per_length=3, seed=0)
    V_src, V_tgt = len(SRC_TOKENS), len(TGT_TOKENS)
    config = Seq2SeqConfig(V_src, V_tgt, d_model=16, num_heads=2, d_ff=32, context_size=32)
    model, history = train_number_reader(split, config, seed=0, steps=3, batch_size=8, warmup_steps=1)
    assert len(history.loss) == 3
    share = alignment_share(model, [123456789, 300020001])
    assert 0.0 <= share <= 1.0
    row = evaluate_reader(model, split)
    assert row["silent_man_total"] == sum(n >= 10**8 and n % 10**8 // 10**4 == 0 for n in split.test_round)
    assert 0 <= row["beam_fixed"] + row["beam_broken"] <= row["beam_changed"] <= len(split.test_round)
