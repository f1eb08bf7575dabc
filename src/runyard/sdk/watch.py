"""``watch()``: histograms of a torch model's gradients and parameters, logged through hooks as W&B does.

torch is never imported here: the hooks use the methods of the model and tensors the user passed. Keys are
W&B's: ``gradients/<parameter name>`` and ``parameters/<parameter name>``, logged with ``commit=False`` so they
join the script's next ``log()`` row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.media.histogram import Histogram

if TYPE_CHECKING:
    from runyard.sdk.run import Run

__all__ = ["tensor_histogram", "unwatch_models", "watch_models"]

_LOG = ("gradients", "parameters", "all", None)
_BINS = 64


def tensor_histogram(tensor: Any, bins: int = _BINS) -> Histogram | None:
    """A histogram of a tensor's finite values, computed by torch itself; None when it holds none."""
    flat = tensor.detach().float().reshape(-1)
    flat = flat[flat.isfinite()]
    if flat.numel() == 0:
        return None
    lo, hi = flat.min().item(), flat.max().item()
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts = flat.histc(bins=bins, min=lo, max=hi).long().tolist()
    step = (hi - lo) / bins
    return Histogram(np_histogram=(counts, [lo + i * step for i in range(bins)] + [hi]))


def watch_models(run: Run, models: Any, log: str | None, log_freq: int, idx: int | None) -> None:
    """Hook ``models`` so their histograms are logged to ``run`` every ``log_freq`` passes."""
    if models is None:
        raise ValueError("runyard.watch: pass the torch model (or a list of models) to watch")
    if log not in _LOG:
        raise ValueError(f"runyard.watch: log must be 'gradients', 'parameters', 'all' or None, not {log!r}")
    if not isinstance(log_freq, int) or log_freq < 1:
        raise ValueError(f"runyard.watch: log_freq must be a positive integer, not {log_freq!r}")
    watched: dict[int, list[Any]] = run.__dict__.setdefault("_watch_handles", {})
    model_list = list(models) if isinstance(models, (list, tuple)) else [models]
    for i, model in enumerate(model_list):
        if not hasattr(model, "named_parameters") or not hasattr(model, "register_forward_hook"):
            raise TypeError(f"runyard.watch: expected a torch model (torch.nn.Module), not {type(model).__name__}")
        number = (idx if idx is not None else len(watched)) + i
        prefix = "" if number == 0 else f"graph_{number}"  # W&B's names: gradients/graph_1conv.bias
        handles = watched.setdefault(id(model), [])
        if log in ("parameters", "all"):
            handles.append(model.register_forward_hook(_parameter_hook(run, model, prefix, log_freq)))
        if log in ("gradients", "all"):
            for name, param in model.named_parameters():
                if param.requires_grad:
                    handles.append(param.register_hook(_gradient_hook(run, f"gradients/{prefix}{name}", log_freq)))


def _parameter_hook(run: Run, model: Any, prefix: str, log_freq: int) -> Any:
    calls = [0]

    def hook(module: Any, inputs: Any, output: Any) -> None:
        calls[0] += 1
        if calls[0] % log_freq:
            return
        row: dict[str, Any] = {}
        for name, param in model.named_parameters():
            hist = tensor_histogram(param)
            if hist is not None:
                row[f"parameters/{prefix}{name}"] = hist
        if row and not run._finished:
            run.log(row, commit=False)

    return hook


def _gradient_hook(run: Run, key: str, log_freq: int) -> Any:
    calls = [0]

    def hook(grad: Any) -> None:
        calls[0] += 1
        if calls[0] % log_freq:
            return
        hist = tensor_histogram(grad)
        if hist is not None and not run._finished:
            run.log({key: hist}, commit=False)

    return hook


def unwatch_models(run: Run, models: Any = None) -> None:
    """Remove the hooks of ``models`` (of every watched model without it)."""
    watched: dict[int, list[Any]] = run.__dict__.get("_watch_handles", {})
    if models is None:
        targets = list(watched)
    else:
        targets = [id(m) for m in (models if isinstance(models, (list, tuple)) else [models])]
    for key in targets:
        for handle in watched.pop(key, []):
            handle.remove()
