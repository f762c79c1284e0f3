"""Sequential depth and memory of a computation (Chapters 4.1 and 5; notes line 22).

Notes line 22: "no more sequential! parallel!!!", measured without a clock:
:func:`graph_depth` counts the operations that must run one after another, and
:func:`saved_tensor_bytes` the memory autograd keeps for the backward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = ["graph_depth", "saved_tensor_bytes"]


def graph_depth(output: torch.Tensor, input: torch.Tensor) -> int:
    """Operations on the longest chain of the autograd graph from ``input`` to ``output``.

    Each operation on that chain needs the result of the one before, so this is how many
    steps must run one after another however many processors there are (for code that
    records every step; a fused kernel such as ``nn.RNN`` is one operation). ``input`` must
    be a leaf tensor that requires grad. Returns 0 if ``output`` does not depend on it.
    """
    for name, t in (("output", output), ("input", input)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not (input.is_leaf and input.requires_grad):
        raise ValueError("input must be a leaf tensor with requires_grad=True (e.g. x.requires_grad_())")
    if output.grad_fn is None:
        return 0
    unreachable = -1
    depth: dict[object, int] = {}  # node -> operations on the longest path from it down to input
    stack: list[tuple[object, bool]] = [(output.grad_fn, False)]
    while stack:  # iterative post-order DFS: graphs of long loops are deep
        node, children_done = stack.pop()
        if node in depth:
            continue
        if getattr(node, "variable", None) is input:  # the AccumulateGrad node of input
            depth[node] = 0
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in depth)
            continue
        best = max((depth[c] for c in children), default=unreachable)
        depth[node] = unreachable if best == unreachable else best + 1
    return max(depth[output.grad_fn], 0)


def saved_tensor_bytes(fn: Callable[[], object], exclude: Iterable[torch.Tensor] = ()) -> int:
    """Bytes that autograd keeps for the backward pass while ``fn()`` runs.

    Every tensor an operation saves for backward passes through
    ``torch.autograd.graph.saved_tensors_hooks``; this adds up the distinct storages
    (views of one tensor share a storage and count once). Storages of ``exclude`` (e.g.
    the parameters and the input, which exist anyway) do not count. The result depends on
    the shapes and the operations only, not on the machine's speed: a deterministic
    measure of activation memory.
    """
    if not callable(fn):
        raise TypeError("fn must be callable: fn() runs the forward pass to measure")
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    sizes: dict[int, int] = {}
    held: list[torch.Tensor] = []  # keep every saved tensor alive: no address is reused meanwhile

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in skip:
            sizes[ptr] = max(sizes.get(ptr, 0), storage.nbytes())
        held.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    held.clear()
    return sum(sizes.values())
