"""Small display helpers for the notebooks: image grids, loss curves, previews and animations.

Nothing here is needed to run a style transfer; these functions only show what happens.

Every figure is published as one finished image with a format chosen for its content: JPEG for
photographs and paintings (a tenth of the PNG's size, which keeps a notebook with dozens of
results under a few megabytes), PNG for line plots (sharp lines, few colours, small anyway).
Nothing depends on widgets, so a committed notebook looks the same in Jupyter, on GitHub, in
nbviewer and in nbconvert's HTML.
"""

import base64
import io
import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .images import deprocess_image, to_uint8

JPEG_QUALITY = 88   # no visible artefacts on the paintings' brush strokes at this quality
GRID_DPI = 100      # image grids: a 3-inch panel is 300 pixels wide
PLOT_DPI = 80       # line plots: readable, and about 30 KB as PNG
TITLE_PIXELS = 28   # the band above a native-resolution panel that holds its title

_PREVIEWS_SHOWN = set()
_PREVIEW_IDS = itertools.count(1)


def as_uint8(image):
    """An RGB uint8 image (H, W, 3) from a uint8 image, a 0-255 float image or a VGG batch.

    A float array of shape (1, H, W, 3) is taken to be preprocessed (BGR minus the ImageNet
    mean) and is deprocessed; a float (H, W, 3) array is taken to be RGB in 0-255.
    """
    image = np.asarray(image)
    if image.ndim == 4:
        return deprocess_image(image, image.shape[1], image.shape[2])
    return to_uint8(image)


def figure_image(fig, fmt="jpeg", dpi=GRID_DPI):
    """A finished matplotlib figure as an IPython image (JPEG or PNG); the figure is closed."""
    from IPython.display import Image as IPythonImage

    buffer = io.BytesIO()
    options = {"pil_kwargs": {"quality": JPEG_QUALITY}} if fmt == "jpeg" else {}
    fig.savefig(buffer, format=fmt, dpi=dpi, facecolor="white", **options)
    plt.close(fig)
    return IPythonImage(data=buffer.getvalue(), format=fmt)


def _publish(fig, fmt="jpeg", dpi=GRID_DPI):
    from IPython.display import display

    display(figure_image(fig, fmt, dpi))


def show_images(images, titles=None, ncols=None, size=3.0, suptitle=None, row_labels=None):
    """Show images in a grid, each with its title, as one JPEG.

    Args:
        images: a list of images (anything `as_uint8` accepts), row by row.
        titles: one title per image (or None).
        ncols: images per row (default: all in one row).
        size: the side of one panel in inches (100 pixels per inch).
        suptitle: a title for the whole figure.
        row_labels: optional text written to the left of each row.
    """
    images = [as_uint8(image) for image in images]
    ncols = ncols or len(images)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.4),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[index], interpolation="lanczos" if images[index].shape[0] > 64
                  else "nearest")
        if titles is not None:
            ax.set_title(titles[index], fontsize=10)
    if row_labels is not None:
        for ax, label in zip(axes[:, 0], row_labels):
            ax.set_ylabel(label, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    fig.tight_layout()
    _publish(fig)


def show_result(result, inputs, title, input_titles=None):
    """Show a result at its own resolution (one image pixel per screen pixel), inputs beside it.

    Grids shrink every panel to a few hundred pixels, too small to see brush strokes; here the
    result keeps every pixel and the inputs (content, style) are stacked on its left at half its
    width. Results narrower than 256 pixels are enlarged by a whole factor.
    """
    result = as_uint8(result)
    inputs = [as_uint8(image) for image in inputs]
    # A tiny result (the notebooks' quick setting) is enlarged by a whole factor, so that the
    # panels still leave room for their titles.
    zoom = max(1, -(-256 // result.shape[1]))
    height, width = result.shape[0] * zoom, result.shape[1] * zoom
    side = width // 2
    total_w, total_h = side + width, height + TITLE_PIXELS
    fig = plt.figure(figsize=(total_w / GRID_DPI, total_h / GRID_DPI))
    panels = [(result, title, side, 0, width, height)]
    slot = height // max(len(inputs), 1)
    for index, image in enumerate(inputs):
        scale = min(side / image.shape[1], (slot - TITLE_PIXELS) / image.shape[0])
        w, h = image.shape[1] * scale, image.shape[0] * scale
        label = input_titles[index] if input_titles else ""
        panels.append((image, label, 0, height - (index + 1) * slot, w, h))
    for image, label, left, bottom, w, h in panels:
        ax = fig.add_axes([left / total_w, bottom / total_h, w / total_w, h / total_h])
        ax.imshow(image, interpolation="nearest" if image is result else "lanczos")
        ax.set_axis_off()
        ax.set_title(label, fontsize=10)
    _publish(fig)


def show_feature_maps(activation, channels, title=None, size=2.0, cmap="viridis"):
    """Show some channels of one activation (1, H, W, C) or (H, W, C) as images."""
    activation = np.asarray(activation)
    if activation.ndim == 4:
        activation = activation[0]
    fig, axes = plt.subplots(1, len(channels), figsize=(size * len(channels), size + 0.5),
                             squeeze=False)
    for ax, channel in zip(axes[0], channels):
        ax.imshow(activation[:, :, channel], cmap=cmap)
        ax.set_title(f"channel {channel}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _publish(fig)


def plot_losses(histories, x="evaluations", y="loss", log=True, title=None):
    """Plot loss curves of several optimisation runs on one set of axes (one PNG).

    Args:
        histories: {label: history}, each history the list of dicts `minimize` or
            `style_transfer` returns.
        x: "evaluations" (loss and gradient computations), "seconds" or "iteration".
        y: the history key to plot: "loss" (the total) or a term such as "style".
        log: use a logarithmic loss axis.
        title: the plot's title.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, history in histories.items():
        ax.plot([record[x] for record in history], [record[y] for record in history],
                label=label, marker="." if len(history) < 30 else None)
    if log:
        ax.set_yscale("log")
    names = {"evaluations": "loss and gradient evaluations", "seconds": "seconds",
             "iteration": "iteration"}
    ax.set_xlabel(names.get(x, x))
    ax.set_ylabel(f"{y} (log scale)" if log else y)
    ax.set_title(title or f"{y} against {names.get(x, x)}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _publish(fig, "png", PLOT_DPI)


def plot_terms(history, title=None):
    """Plot each weighted term of one transfer (content, style, total variation) against the
    iteration, on one logarithmic axis (one PNG); their sum is the run's loss.

    `history` is what `style_transfer` returns; every record holds the terms of the best image
    so far, so the curves are those of the image the run would return at that iteration.
    """
    labels = {"content": "content (alpha)", "style": "style (betas)",
              "tv": "total variation (gamma)"}
    plot_losses({label: [dict(record, loss=record[name]) for record in history]
                 for name, label in labels.items() if name in history[0]}, x="iteration",
                title=title or "The loss's terms, each with its weight")


def neighbour_differences(image):
    """At every pixel of an image, the size of its difference to its right and lower neighbours
    (the Euclidean norm over both differences and the colour channels, in 0-255 units), over
    the (H-1) x (W-1) top-left block, as total variation takes them."""
    pixels = as_uint8(image).astype(np.float32)
    corner = pixels[:-1, :-1]
    return np.sqrt(np.sum((pixels[1:, :-1] - corner) ** 2 + (pixels[:-1, 1:] - corner) ** 2,
                          axis=-1))


def difference_image(image, scale=None):
    """What total variation measures, as a picture: `neighbour_differences`, white for none and
    black for `scale` or more (default: the image's largest), as a gray uint8 RGB image one
    pixel smaller each way. Give several images the same `scale` to compare them."""
    size = neighbour_differences(image)
    scale = float(size.max()) if scale is None else scale
    gray = 255 - np.round(255 * np.minimum(size / max(scale, 1e-6), 1.0))
    return np.repeat(gray[..., None], 3, axis=-1).astype(np.uint8)


def show_pipeline():
    """Draw the method as a diagram (one PNG): the photo, the painting and the generated image
    through the same frozen VGG into the three weighted losses, and the gradient of their sum
    back to the generated image's pixels, which are all that the optimiser changes."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 5.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.0, 5.7)
    ax.set_axis_off()
    colours = {"content": "#cfe2f3", "style": "#f9cb9c", "image": "#d9ead3", "vgg": "#eeeeee",
               "total": "#ffe599"}

    def box(x, y, text, colour, width=1.7, height=0.9):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                    boxstyle="round,pad=0.05", facecolor=colours[colour],
                                    edgecolor="#444444"))
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(start, end, text="", bend=0.0, colour="#444444"):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                     color=colour, connectionstyle=f"arc3,rad={bend}"))
        if text:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.15, text,
                    ha="center", fontsize=8, color=colour)

    box(1.2, 4.2, "generated image $x$\n(the only variable)", "image", height=1.0)
    box(1.2, 2.2, "photo $p$", "content")
    box(1.2, 0.2, "painting $a$", "style")
    ax.add_patch(FancyBboxPatch((2.65, -0.35), 1.0, 5.1, boxstyle="round,pad=0.05",
                                facecolor=colours["vgg"], edgecolor="#444444"))
    ax.text(3.15, 2.2, "VGG\n(frozen,\nImageNet\nweights)", ha="center", va="center",
            fontsize=9)
    box(5.15, 4.2, "features $F$ and\nGram matrices $G$\nof $x$", "image", width=2.0,
        height=1.0)
    box(5.15, 2.2, "target features $P$\nat block4_conv2\n(computed once)", "content",
        width=2.0, height=1.0)
    box(5.15, 0.2, "target Gram matrices $A$\nblock1_conv1 ... block5_conv1\n(computed once)",
        "style", width=2.0, height=1.0)
    box(7.55, 2.2, "$\\alpha \\cdot$ content loss\n$\\sum (F - P)^2$", "content")
    box(7.55, 0.2, "$\\sum_l \\beta_l / |L_s| \\cdot E_l$\nstyle loss", "style")
    box(7.55, 5.2, "$\\gamma \\cdot$ total variation\nof $x$'s pixels", "image", height=0.8)
    box(9.3, 2.2, "total loss\n$\\mathcal{L}(x)$", "total", width=1.2)
    for y in (4.2, 2.2, 0.2):
        arrow((2.1, y), (2.6, y))
        arrow((3.75, y), (4.1, y))
    arrow((6.2, 2.2), (6.65, 2.2))
    arrow((6.2, 0.2), (6.65, 0.2))
    arrow((6.2, 4.0), (6.75, 2.6))
    arrow((6.05, 3.65), (6.75, 0.6))
    arrow((1.2, 4.75), (6.65, 5.2), bend=-0.12)
    arrow((8.45, 5.2), (9.45, 2.75))
    arrow((8.45, 2.2), (8.65, 2.2))
    arrow((8.45, 0.2), (9.2, 1.65))
    red = "#cc0000"
    ax.plot([9.9, 9.9, 0.15, 0.15], [1.9, -0.85, -0.85, 4.2], color=red, linewidth=1.2)
    arrow((0.15, 4.2), (0.3, 4.2), colour=red)
    ax.text(5.0, -0.75, "gradient $\\partial \\mathcal{L} / \\partial x$ back through VGG: "
            "L-BFGS changes the pixels of $x$, never the network", ha="center", fontsize=9,
            color=red)
    fig.tight_layout()
    _publish(fig, "png", PLOT_DPI)


def live_preview(every=10, title="", size=3.0, display_id=None):
    """A callback that shows the current image every `every` iterations, in place.

    It fits both `minimize(..., callback=...)` (which passes a preprocessed batch) and
    `style_transfer(..., callback=...)` (which passes a uint8 image). The picture is replaced
    rather than appended, so a notebook keeps one preview per `display_id` (pass the same
    `display_id` to several runs to show them all in one place), and a saved notebook holds the
    last picture shown: the preview doubles as a progress bar that every viewer can render.
    """
    from IPython.display import display, update_display

    display_id = display_id or f"nst-preview-{next(_PREVIEW_IDS)}"

    def callback(iteration, image, record=None):
        if iteration % every:
            return
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(as_uint8(image))
        ax.set_xticks([])
        ax.set_yticks([])
        loss = f", loss {record['loss']:.3g}" if record else ""
        ax.set_title(f"{title + ': ' if title else ''}iteration {iteration}{loss}", fontsize=9)
        fig.tight_layout()
        picture = figure_image(fig, dpi=72)
        if display_id in _PREVIEWS_SHOWN:
            update_display(picture, display_id=display_id)
        else:
            display(picture, display_id=display_id)
            _PREVIEWS_SHOWN.add(display_id)

    return callback


def show_gif(path, caption=""):
    """Show an animated GIF file (such as `style_transfer(..., animation=path)` writes) so that
    it plays everywhere.

    It goes out as an HTML <img> with the GIF inline: Jupyter, nbviewer, nbconvert's HTML and
    GitHub all render that, while a bare image/gif output is skipped by nbconvert's templates.
    """
    from IPython.display import display

    encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    html = f'<img src="data:image/gif;base64,{encoded}" alt="{caption}"/>'
    if caption:
        html = f"<figure>{html}<figcaption>{caption}</figcaption></figure>"
    display({"text/html": html, "text/plain": f"<animated GIF: {caption}>"}, raw=True)
