"""seqnotes.models.seq2seq: the encoder-decoder Transformer, its decoding and saving."""

from __future__ import annotations

import math

import pytest
import torch

from seqnotes.measure.reader import translate
from seqnotes.models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer
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
)
from seqnotes.training.loop import fit


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
