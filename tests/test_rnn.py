"""Chapter 2: the from-scratch RNN against torch.nn.RNN, hand-written BPTT against autograd,
gradient-norm measurement, the character LM and the adding problem."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqnotes import count_parameters
from seqnotes.measure.gradients import gaussian_init_, spectral_radius, state_gradient_norms
from seqnotes.models.lm import RecurrentLM, RecurrentLMConfig, evaluate
from seqnotes.models.recurrent import RNN, RNNCell, SequenceRegressor, bptt
from seqnotes.tasks.adding import BASELINE_MSE, adding_batches, adding_problem
from seqnotes.training.adding import train_adding

ATOL = 1e-5


def _pair(input_size: int, hidden_size: int, nonlinearity: str, batch_first: bool = True):
    torch.manual_seed(input_size * 100 + hidden_size)
    ref = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=batch_first)
    return ref, RNN.from_torch(ref)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize(
    ("batch", "steps", "input_size", "hidden_size"),
    [(1, 1, 1, 1), (1, 7, 3, 5), (4, 1, 6, 2), (3, 12, 8, 16), (2, 30, 4, 32)],
)
def test_rnn_matches_torch_forward_and_gradients(nonlinearity, batch, steps, input_size, hidden_size) -> None:
    ref, ours = _pair(input_size, hidden_size, nonlinearity)
    x = torch.randn(batch, steps, input_size, requires_grad=True)
    h0 = torch.randn(batch, hidden_size, requires_grad=True)
    out_ref, h_ref = ref(x, h0[None])  # torch wants h0 as (layers, B, H)
    out, h_last = ours(x, h0)
    assert out.shape == (batch, steps, hidden_size) and h_last.shape == (batch, hidden_size)
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h_last, h_ref[0], atol=ATOL, rtol=0)

    weights = torch.randn(batch, steps, hidden_size)  # a loss that uses every output
    grads_ref = torch.autograd.grad((out_ref * weights).sum(), [x, h0, *ref.parameters()])
    grads = torch.autograd.grad((out * weights).sum(), [x, h0, *ours.parameters()])
    gx_ref, gh_ref, gw_ih, gw_hh, gb_ih, gb_hh = grads_ref
    gx, gh, w_ih, w_hh, b = grads
    for a, b_ in ((gx, gx_ref), (gh, gh_ref), (w_ih, gw_ih), (w_hh, gw_hh), (b, gb_ih), (b, gb_hh)):
        torch.testing.assert_close(a, b_, atol=1e-4, rtol=1e-4)


def test_rnn_without_initial_state_and_time_major() -> None:
    ref, ours = _pair(3, 4, "tanh", batch_first=False)
    x = torch.randn(6, 2, 3)  # (T, B, D)
    out_ref, h_ref = ref(x)
    out, h_last = ours(x)
    assert out.shape == (6, 2, 4)
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h_last, h_ref[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_torch(nonlinearity) -> None:
    torch.manual_seed(1)
    ref = nn.RNNCell(5, 7, nonlinearity=nonlinearity)
    cell = RNNCell.from_torch(ref)
    x, h = torch.randn(3, 5), torch.randn(3, 7)
    torch.testing.assert_close(cell(x, h), ref(x, h), atol=ATOL, rtol=0)
    torch.testing.assert_close(cell(x), ref(x), atol=ATOL, rtol=0)


def test_sigmoid_rnn_follows_the_formula() -> None:
    torch.manual_seed(2)
    rnn = RNN(3, 4, nonlinearity="sigmoid")
    x = torch.randn(2, 5, 3)
    h = torch.zeros(2, 4)
    c = rnn.cell
    for t in range(5):
        h = torch.sigmoid(x[:, t] @ c.weight_ih.T + h @ c.weight_hh.T + c.bias)
    torch.testing.assert_close(rnn(x)[1], h, atol=ATOL, rtol=0)


def test_parameter_count_does_not_depend_on_length() -> None:
    rnn = RNN(10, 32)
    assert count_parameters(rnn) == 32 * 10 + 32 * 32 + 32
    assert rnn(torch.randn(1, 3, 10))[0].shape == (1, 3, 32)
    assert rnn(torch.randn(1, 300, 10))[0].shape == (1, 300, 32)


def test_bad_shapes_and_arguments_give_clear_errors() -> None:
    rnn = RNN(3, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\)"):
        rnn(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\).*dim 2 is 2"):
        rnn(torch.randn(4, 6, 2))
    with pytest.raises(ValueError, match=r"state must have shape \(4, 5\)"):
        rnn(torch.randn(4, 6, 3), torch.randn(1, 4, 5))
    with pytest.raises(ValueError, match="T >= 1"):
        rnn(torch.randn(4, 0, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, 3\)"):
        RNN(3, 5, batch_first=False)(torch.randn(2, 3))
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        RNN(3, 5, nonlinearity="gelu")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        RNN(3, 0)
    with pytest.raises(TypeError, match="torch.nn.RNN"):
        RNN.from_torch(nn.LSTM(3, 5))
    with pytest.raises(ValueError, match="num_layers=1"):
        RNN.from_torch(nn.RNN(3, 5, num_layers=2))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3\)"):
        RNNCell(3, 5)(torch.randn(2, 4))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "sigmoid"])
def test_hand_written_bptt_equals_autograd_through_torch(nonlinearity) -> None:
    torch.manual_seed(3)
    ours = RNN(3, 6, nonlinearity=nonlinearity)
    x = torch.randn(2, 9, 3, requires_grad=True)
    h0 = torch.randn(2, 6, requires_grad=True)
    g_out = torch.randn(2, 9, 6)
    if nonlinearity == "sigmoid":  # torch has no sigmoid RNN: compare with autograd on ours
        out, _ = ours(x, h0)
        params = [ours.cell.weight_ih, ours.cell.weight_hh, ours.cell.bias]
        auto = torch.autograd.grad((out * g_out).sum(), [x, h0, *params])
        auto_b = auto[4]
    else:
        ref = nn.RNN(3, 6, nonlinearity=nonlinearity, batch_first=True)
        with torch.no_grad():
            ref.weight_ih_l0.copy_(ours.cell.weight_ih)
            ref.weight_hh_l0.copy_(ours.cell.weight_hh)
            ref.bias_ih_l0.copy_(ours.cell.bias)
            ref.bias_hh_l0.zero_()
        out, _ = ref(x, h0[None])
        auto = torch.autograd.grad((out * g_out).sum(), [x, h0, *ref.parameters()])
        auto_b = auto[4]
    manual = bptt(ours, x.detach(), g_out, h0.detach())
    torch.testing.assert_close(manual["x"], auto[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["h0"], auto[1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["weight_ih"], auto[2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["weight_hh"], auto[3], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["bias"], auto_b, atol=1e-5, rtol=1e-4)


def test_state_gradient_norms_match_hand_written_bptt() -> None:
    torch.manual_seed(4)
    rnn = RNN(2, 8)
    x = torch.randn(3, 10, 2)
    norms = state_gradient_norms(rnn, x)  # (T,) by distance
    g_out = torch.zeros(3, 10, 8)
    g_out[:, -1] = 1.0  # L = sum(h_T)
    delta = bptt(rnn, x, g_out)["h"]  # (B, T, H)
    expected = delta.double().norm(dim=-1).mean(dim=0).flip(0)
    torch.testing.assert_close(norms, expected, atol=1e-6, rtol=1e-5)
    assert math.isclose(float(norms[0]), math.sqrt(8), rel_tol=1e-6)  # distance 0: dL/dh_T = ones
    with pytest.raises(ValueError, match="needs an LSTM"):
        state_gradient_norms(rnn, x, which="c")


def test_state_gradient_norms_do_not_overflow_or_underflow_in_float32() -> None:
    # A linear RNN (relu on positive states) with W_hh = w * I: dL/dh_t = w^(T-t) * ones(H).
    # Squaring such gradients in float32 overflows (w = 8) or underflows (w = 0.1) long before
    # the gradients themselves do; the norms must still be finite and non-zero.
    steps, hidden = 24, 4
    for w in (8.0, 0.1):
        rnn = RNN(1, hidden, "relu")
        with torch.no_grad():
            rnn.cell.weight_hh.copy_(w * torch.eye(hidden))
            rnn.cell.weight_ih.fill_(1.0)
            rnn.cell.bias.zero_()
        norms = state_gradient_norms(rnn, torch.ones(2, steps, 1))
        assert norms.dtype == torch.float64
        expected = torch.tensor([w**d * math.sqrt(hidden) for d in range(steps)], dtype=torch.float64)
        torch.testing.assert_close(norms, expected, rtol=1e-4, atol=0.0)


def test_gaussian_init_sets_the_spectral_radius() -> None:
    gen = torch.Generator().manual_seed(0)
    rnn = gaussian_init_(RNN(4, 256), 0.5, gen)
    assert abs(spectral_radius(rnn.cell.weight_hh) - 0.5) < 0.05
    assert float(rnn.cell.bias.detach().abs().max()) == 0.0
    with pytest.raises(ValueError, match="recurrent_scale must be positive"):
        gaussian_init_(rnn, 0.0, gen)


def test_rnn_language_model_interface() -> None:
    torch.manual_seed(5)
    model = RecurrentLM(RecurrentLMConfig(vocab_size=11, embed_dim=8, hidden_size=16, cell="rnn"))
    idx = torch.randint(0, 11, (2, 7))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 7, 11) and loss is not None and loss.ndim == 0
    assert model(idx)[1] is None
    # causal: changing a later symbol does not change earlier logits
    idx2 = idx.clone()
    idx2[:, -1] = (idx2[:, -1] + 1) % 11
    torch.testing.assert_close(model(idx2)[0][:, :-1], logits[:, :-1])
    result = evaluate(model, torch.randint(0, 11, (200,)), block_size=16)
    assert 5 < result["perplexity"] < 30  # roughly uniform before training
    with pytest.raises(ValueError, match=r"idx values must be in \[0, 11\)"):
        model(torch.full((1, 3), 11))


# ----------------------------------------------------------------------------------------
# The adding problem


def test_adding_problem_properties() -> None:
    x, y = adding_problem(500, 20, torch.Generator().manual_seed(0))
    assert x.shape == (500, 20, 2) and y.shape == (500,) and x.dtype == torch.float32
    values, markers = x[..., 0], x[..., 1]
    assert float(values.min()) >= 0.0 and float(values.max()) < 1.0
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(markers.sum(dim=1), torch.full((500,), 2.0))  # exactly two markers
    assert torch.equal(markers[:, :10].sum(dim=1), torch.ones(500))  # one in each half
    assert torch.equal(markers[:, 10:].sum(dim=1), torch.ones(500))
    torch.testing.assert_close(y, (values * markers).sum(dim=1))
    assert bool((markers.sum(dim=0) > 0).all())  # every position gets marked sometimes


def test_adding_problem_is_deterministic_and_the_baseline_is_one_sixth() -> None:
    a = adding_problem(100, 8, torch.Generator().manual_seed(7))
    b = adding_problem(100, 8, torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    _, y = adding_problem(50_000, 6, torch.Generator().manual_seed(1))
    assert abs(float(((y - 1.0) ** 2).mean()) - BASELINE_MSE) < 0.005
    assert math.isclose(BASELINE_MSE, 1 / 6)
    batch = adding_batches(12, 4, torch.Generator().manual_seed(0))(0)
    assert batch[0].shape == (4, 12, 2) and batch[1].shape == (4,)


def test_adding_problem_rejects_bad_arguments() -> None:
    gen = torch.Generator()
    with pytest.raises(ValueError, match="seq_len must be an int >= 2"):
        adding_problem(3, 1, gen)
    with pytest.raises(ValueError, match="n must be a positive int"):
        adding_problem(0, 10, gen)
    with pytest.raises(TypeError, match="torch.Generator"):
        adding_problem(3, 10, 0)  # type: ignore[arg-type]


def test_sequence_regressor_and_a_short_training_run() -> None:
    model = SequenceRegressor(RNN(2, 8), 8)
    x, y = adding_problem(4, 10, torch.Generator().manual_seed(0))
    pred, loss = model(x, y)
    assert pred.shape == (4,) and loss is not None
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        model(x, y[:3])
    result = train_adding("rnn", 6, steps=30, hidden_size=8, batch_size=16, n_test=64)
    assert result.history.steps[-1] == 30 and math.isfinite(result.test_mse)


def test_unrolled_rnn_diagram_draws_and_checks_its_argument() -> None:
    from seqnotes.diagrams import draw_unrolled_rnn

    ax = draw_unrolled_rnn(steps=4)
    assert len(ax.patches) > 10 and not ax.axison
    with pytest.raises(ValueError, match=r"steps must be an int in \[3, 8\]"):
        draw_unrolled_rnn(steps=2)


def test_gradient_vs_distance_is_built_from_its_public_parts() -> None:
    from seqnotes.measure.gradients import gaussian_rnn, gradient_vs_distance, probe_inputs, spectral_norm

    norms = gradient_vs_distance("tanh", 2.0, seq_len=20, hidden_size=16, seed=3)
    rnn = gaussian_rnn("tanh", 2.0, hidden_size=16, seed=3)
    again = state_gradient_norms(rnn, probe_inputs(32, 20, 16, seed=3))
    assert torch.equal(norms, again) and norms.shape == (20,)
    w = rnn.cell.weight_hh.detach()
    assert spectral_norm(w) == pytest.approx(float(torch.linalg.svdvals(w.double())[0]))
    assert spectral_norm(w) >= spectral_radius(w) - 1e-9  # ||W||_2 bounds every |eigenvalue|
    with pytest.raises(ValueError, match="w must have shape"):
        spectral_norm(torch.ones(2, 3))


def test_target_probs_agree_with_evaluate_and_brackets_are_counted_in_window() -> None:
    from seqnotes.measure.context import closing_bracket_probs, target_probs
    from seqnotes.models.ngram import NGramLM

    ids = torch.tensor([0, 1, 2, 3, 2, 1, 1, 3, 0, 1, 2, 2, 3, 3, 1, 0, 2, 3, 1, 1, 0])  # 1 = "(", 3 = ")"
    model = NGramLM(4, order=2, k=0.5).fit(ids)
    p = target_probs(model, ids, block_size=5)  # (4, 5)
    assert p.shape == (4, 5)
    assert math.exp(-float(p.log().mean())) == pytest.approx(evaluate(model, ids, block_size=5)["perplexity"])
    d, probs = closing_bracket_probs(model, ids, open_id=1, close_id=3, block_size=5)
    # pairs (open, close): (1, 3), (6, 7), (9, 12), (5, 13), (14, 17). Position j is predicted in
    # window (j - 1) // 5; only pairs whose opening bracket lies in that window count: (1, 3), (6, 7).
    assert d.tolist() == [2, 1]
    assert probs.tolist() == pytest.approx([float(p.flatten()[j - 1]) for j in (3, 7)])
    with pytest.raises(ValueError, match="differ"):
        closing_bracket_probs(model, ids, open_id=1, close_id=1)
