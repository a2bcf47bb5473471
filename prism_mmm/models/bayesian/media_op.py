"""Fused media response for the nutpie/numba path: adstock + saturation as one PyTensor Op.

``media_response(media, params, spend_lags)`` is the same function as
:meth:`prism_mmm.transforms.MediaTransform.tensor` (normalised geometric adstock over the lag
stack, then Hill or logistic saturation), where the maths is defined; tests check these
kernels against the transform classes, and logp and gradient of both model graphs at random
points.

Why an Op: written as ordinary PyTensor, adstock + saturation and their gradients are ~100 of
the logp graph's ~140 nodes. nutpie compiles the whole graph with numba into one C callback
and numba cannot cache that callback on disk, so every new process paid for typing and
LLVM-compiling every node (30 s with empty caches on the bundled data, 2 cores). Here the
media block is two hand-written loops (forward and vector-Jacobian product) in this module,
compiled once per machine (``cache=True``) and loaded from numba's on-disk cache afterwards,
and it evaluates without the (L, T, C) temporaries the broadcasted graph allocates.

The PyMC and numpyro samplers keep the plain graph (no C or JAX implementation is needed).
"""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from prism_mmm.transforms import LOG_EPS as EPS
from prism_mmm.transforms import MediaTransform

N_SAT_PARAMS = {"hill": 2, "logistic": 1}  # (half_sat, shape) | (lam,)


# pytensor's own numba fastmath flags (no "nnan"/"ninf": the sampler must see inf/nan).
FASTMATH = {"arcp", "contract", "afn", "reassoc", "nsz"}


@numba.njit(cache=True, fastmath=FASTMATH)
def _weights(decay: np.ndarray, n_lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised geometric weights ``w[l, c] = d^l / sum_k d^k`` and ``dw/dd``."""
    n_channels = decay.shape[0]
    w = np.empty((n_lags, n_channels))
    dw = np.empty((n_lags, n_channels))
    for c in range(n_channels):
        d = decay[c]
        total, dtotal = 0.0, 0.0
        for lag in range(n_lags):
            total += d**lag
            if lag > 0:
                dtotal += lag * d ** (lag - 1)
        for lag in range(n_lags):
            power = d**lag
            dpower = lag * d ** (lag - 1) if lag > 0 else 0.0
            w[lag, c] = power / total
            dw[lag, c] = (dpower * total - power * dtotal) / (total * total)
    return w, dw


@numba.njit(cache=True, fastmath=FASTMATH)
def _adstock(w: np.ndarray, spend_lags: np.ndarray) -> np.ndarray:
    n_lags, n_weeks, n_channels = spend_lags.shape
    out = np.zeros((n_weeks, n_channels))
    for t in range(n_weeks):
        for lag in range(n_lags):
            for c in range(n_channels):
                out[t, c] += w[lag, c] * spend_lags[lag, t, c]
    return out


# Each forward kernel returns (response, aux); aux is what the VJP needs that would cost a
# transcendental to recompute (Hill: log(adstock + EPS); logistic: nothing, adstock itself),
# so a gradient evaluation takes one log and one exp (or one tanh) per week and channel.
@numba.njit(cache=True, fastmath=FASTMATH)
def hill_forward(decay, half_sat, shape, spend_lags):
    """(T, C) ``sigmoid(shape * (log(adstock + EPS) - log(half_sat)))`` (0 where the adstock
    is 0) and the log adstock."""
    w, _ = _weights(decay, spend_lags.shape[0])
    adstocked = _adstock(w, spend_lags)
    log_adstock = np.log(adstocked + EPS)
    log_half = np.log(half_sat)
    out = np.empty_like(log_adstock)
    for t in range(out.shape[0]):
        for c in range(out.shape[1]):
            if adstocked[t, c] > 0.0:
                out[t, c] = 1.0 / (1.0 + np.exp(-shape[c] * (log_adstock[t, c] - log_half[c])))
            else:
                out[t, c] = 0.0
    return out, log_adstock


@numba.njit(cache=True, fastmath=FASTMATH)
def hill_vjp(decay, half_sat, shape, spend_lags, response, log_adstock, grad_out):
    """Gradients of ``sum(grad_out * response)`` w.r.t. decay, half_sat and shape."""
    w, dw = _weights(decay, spend_lags.shape[0])
    adstocked = _adstock(w, spend_lags)
    dadstocked = _adstock(dw, spend_lags)  # d adstock / d decay, per channel
    n_weeks, n_channels = adstocked.shape
    g_decay, g_half, g_shape = np.zeros(n_channels), np.zeros(n_channels), np.zeros(n_channels)
    log_half = np.log(half_sat)
    for t in range(n_weeks):
        for c in range(n_channels):
            s = response[t, c]
            gz = grad_out[t, c] * s * (1.0 - s)
            g_decay[c] += gz * shape[c] / (adstocked[t, c] + EPS) * dadstocked[t, c]
            g_shape[c] += gz * (log_adstock[t, c] - log_half[c])
            g_half[c] -= gz * shape[c] / half_sat[c]
    return g_decay, g_half, g_shape


@numba.njit(cache=True, fastmath=FASTMATH)
def logistic_forward(decay, lam, spend_lags):
    """(T, C) ``tanh(lam * adstock / 2)`` and the adstock."""
    w, _ = _weights(decay, spend_lags.shape[0])
    adstocked = _adstock(w, spend_lags)
    out = np.empty_like(adstocked)
    for t in range(adstocked.shape[0]):
        for c in range(adstocked.shape[1]):
            out[t, c] = np.tanh(lam[c] * adstocked[t, c] / 2.0)
    return out, adstocked


@numba.njit(cache=True, fastmath=FASTMATH)
def logistic_vjp(decay, lam, spend_lags, response, adstocked, grad_out):
    _, dw = _weights(decay, spend_lags.shape[0])
    dadstocked = _adstock(dw, spend_lags)
    n_weeks, n_channels = adstocked.shape
    g_decay, g_lam = np.zeros(n_channels), np.zeros(n_channels)
    for t in range(n_weeks):
        for c in range(n_channels):
            s = response[t, c]
            gs = grad_out[t, c] * (1.0 - s * s) / 2.0
            g_decay[c] += gs * lam[c] * dadstocked[t, c]
            g_lam[c] += gs * adstocked[t, c]
    return g_decay, g_lam


KERNELS = {"hill": (hill_forward, hill_vjp), "logistic": (logistic_forward, logistic_vjp)}


class MediaResponse(Op):
    """``(response, aux)`` from ``(decay, *sat_params, spend_lags)``: response is the (T, C)
    saturated adstock, aux an internal (T, C) by-product for the gradient (see the kernels);
    use :func:`media_response`, which returns the response only."""

    __props__ = ("saturation",)

    def __init__(self, saturation: str) -> None:
        if saturation not in KERNELS:
            raise ValueError(f"unknown saturation {saturation!r}; known: {sorted(KERNELS)}")
        self.saturation = saturation

    def make_node(self, *inputs):
        if len(inputs) != N_SAT_PARAMS[self.saturation] + 2:
            raise TypeError(f"{self.saturation} media response takes decay, "
                            f"{N_SAT_PARAMS[self.saturation]} saturation parameters and spend_lags")
        inputs = [pt.as_tensor_variable(x).astype("float64") for x in inputs]
        return Apply(self, inputs, [pt.dmatrix(), pt.dmatrix()])

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, KERNELS[self.saturation][0](*inputs), strict=True):
            storage[0] = value

    def infer_shape(self, fgraph, node, shapes):
        spend_shape = shapes[-1]
        return [(spend_shape[1], spend_shape[2])] * 2

    def connection_pattern(self, node):
        return [[True, False]] * (len(node.inputs) - 1) + [[False, False]]

    def L_op(self, inputs, outputs, output_grads):
        if not isinstance(output_grads[1].type, DisconnectedType):
            raise NotImplementedError("the aux output of MediaResponse is not differentiable")
        grads = MediaResponseGrad(self.saturation)(*inputs, *outputs, output_grads[0])
        return [*grads, DisconnectedType()()]


class MediaResponseGrad(Op):
    """Vector-Jacobian product of :class:`MediaResponse` w.r.t. its parameters, from its
    inputs, both its outputs and the output gradient."""

    __props__ = ("saturation",)

    def __init__(self, saturation: str) -> None:
        self.saturation = saturation

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x).astype("float64") for x in inputs]
        return Apply(self, inputs, [pt.dvector() for _ in range(N_SAT_PARAMS[self.saturation] + 1)])

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, KERNELS[self.saturation][1](*inputs), strict=True):
            storage[0] = value

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]] * len(node.outputs)


# pytensor keys its on-disk numba cache on the Op's props plus this version: bump it whenever
# a kernel's inputs or outputs change, or a stale compiled graph is loaded.
KERNEL_VERSION = 3


@register_funcify_default_op_cache_key(MediaResponse)
def _numba_media_response(op, node=None, **kwargs):
    return KERNELS[op.saturation][0], KERNEL_VERSION


@register_funcify_default_op_cache_key(MediaResponseGrad)
def _numba_media_response_grad(op, node=None, **kwargs):
    return KERNELS[op.saturation][1], KERNEL_VERSION


def media_response(media: MediaTransform, params: dict, spend_lags):
    """(T, C) graph node for the fused media response (see the module docstring)."""
    if media.adstock.name != "geometric" or media.saturation.name not in KERNELS:
        raise ValueError(
            f"the fused media Op implements geometric adstock with {sorted(KERNELS)} "
            f"saturation, not {media.adstock.name} + {media.saturation.name}"
        )
    sat_params = [params[k] for k in media.saturation_params]
    return MediaResponse(media.saturation.name)(params["decay"], *sat_params, spend_lags)[0]
