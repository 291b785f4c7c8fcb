"""Predicting the peak memory of a style transfer before starting it, and refusing when too big.

A loss+gradient evaluation keeps every activation of the truncated VGG for the backward pass, and
the backward pass makes gradients of the same sizes. So the peak resident memory (RSS) grows
linearly with the number of pixels: ``peak = BASE + FACTOR * 4 bytes * A * H * W``, where A is the
number of activation values per input pixel, counted analytically from VGG's layer table below.
BASE (Python, TensorFlow, the weights) and FACTOR were fitted to RSS measured with
``benchmarks/run.py --memory`` at 256, 512 and 1024 px (see benchmarks/README.md), separately
with and without XLA: XLA's fused kernels keep about twice as many buffers alive.
"""

import os

from .defaults import check_name
from .errors import NSTError, option

#: Convolutions per block of VGG16 and VGG19 and the channels of each block.
_CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_CHANNELS = (64, 128, 256, 512, 512)

#: (BASE bytes, FACTOR) without and with XLA: least-squares fits to measured peak RSS with VGG19
#: (benchmarks/README.md), rounded up about 5% so the prediction errs on the safe side.
#: FACTOR covers activations, their gradients and the backward pass's temporaries.
FITS = {False: (0.8e9, 2.15), True: (1.0e9, 4.8)}

#: scipy's L-BFGS keeps 10 correction pairs of float64 vectors of 3 values per pixel; the fits
#: above measured two evaluations only, so this is added on top.
LBFGS_BYTES_PER_PIXEL = 2 * 10 * 3 * 8


def vgg_layer_table(convnet="vgg19"):
    """VGG's layers in order as (name, input size divisor, input channels, output channels)."""
    table, channels_in = [], 3
    for block, (convs, channels) in enumerate(zip(_CONVS_PER_BLOCK[check_name("convnet", convnet)],
                                                  _CHANNELS), 1):
        divisor = 2 ** (block - 1)
        for conv in range(1, convs + 1):
            table.append((f"block{block}_conv{conv}", divisor, channels_in, channels))
            channels_in = channels
        table.append((f"block{block}_pool", divisor, channels, channels))
    return table


def truncated_table(convnet, layers):
    """The rows of `vgg_layer_table` up to the deepest of `layers` (what `build_vgg` keeps);
    NSTError, listing the valid names, for an unknown convnet or layer."""
    table = vgg_layer_table(convnet)
    names = [row[0] for row in table]
    unknown = [layer for layer in layers if layer not in names]
    if unknown:
        raise NSTError(f"{convnet.upper()} has no layer named {', '.join(map(repr, unknown))}. "
                       f"Valid names: {', '.join(names)}.")
    return table[:max(names.index(layer) for layer in layers) + 1]


def activations_per_pixel(convnet, layers):
    """Activation values the truncated network stores per input pixel (conv and pool outputs)."""
    total = 0.0
    for name, divisor, _, channels in truncated_table(convnet, layers):
        out_divisor = divisor * 2 if name.endswith("pool") else divisor
        total += channels / out_divisor**2
    return total


def predict_peak_bytes(height, width, convnet="vgg19", layers=("block5_conv1",), xla=False):
    """Predicted peak RSS in bytes of a style transfer at height x width pixels."""
    return FITS[bool(xla)][0] + _bytes_per_pixel(convnet, layers, xla) * height * width


def _bytes_per_pixel(convnet, layers, xla):
    """The slope of the prediction: network buffers plus L-BFGS's history, per pixel."""
    return FITS[bool(xla)][1] * 4 * activations_per_pixel(convnet, layers) + LBFGS_BYTES_PER_PIXEL


def available_bytes():
    """Memory available to a new process now: MemAvailable from /proc/meminfo, else free pages."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def largest_fitting_size(height, width, convnet, layers, limit, xla=False):
    """The largest longest side (pixels, same aspect ratio) predicted to fit in `limit` bytes."""
    aspect = min(height, width) / max(height, width)
    per_square_pixel = _bytes_per_pixel(convnet, layers, xla) * aspect
    spare = limit - FITS[bool(xla)][0]
    return int((spare / per_square_pixel) ** 0.5) if spare > 0 else 0


def check_memory(height, width, convnet="vgg19", layers=("block5_conv1",), limit=None,
                 xla=False):
    """Raise NSTError, suggesting a size that fits, if the transfer would not fit in memory.

    Returns the predicted peak in bytes otherwise.

    Args:
        limit: bytes allowed; None means the memory available now (`available_bytes`).
        xla: whether the loss is compiled with XLA (it needs more memory).
    """
    limit = available_bytes() if limit is None else limit
    needed = predict_peak_bytes(height, width, convnet, layers, xla)
    if needed > limit:
        fits = largest_fitting_size(height, width, convnet, layers, limit, xla)
        advice = (f"Use {option('max_size', fits)} or less" if fits >= 16
                  else "Free some memory")
        raise NSTError(f"A {width}x{height} transfer with {convnet.upper()} needs about "
                       f"{needed / 1e9:.1f} GB but only {limit / 1e9:.1f} GB is available. "
                       f"{advice}, or pass a larger {option('memory_limit')} if you know "
                       "better.")
    return needed
