"""Keeping the content's colours (Gatys et al. 2017, "Controlling Perceptual Factors", section 5).

Two ways, both pure NumPy on RGB images (H, W, 3) in 0-255:

* Luminance-only transfer: transfer style on gray (luminance) images only, then give the result
  the content's colour channels back (`luminance_image`, `recombine_luminance`). The paper uses
  the YIQ colour space, as we do: Y is luminance, I and Q carry the colour.
* Colour histogram matching: before the transfer, move the style image's colours by the linear
  map that gives its pixels the content's mean and covariance (`match_color_histogram`).
"""

import numpy as np

from .defaults import check_name
from .images import to_uint8

#: RGB -> YIQ (NTSC 1953); the rows give Y, I and Q.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def check_preserve_color(preserve_color):
    """Raise NSTError unless `preserve_color` is None, "luminance" or "histogram"."""
    if preserve_color is not None:
        check_name("preserve_color", preserve_color)


def rgb_to_yiq(image):
    """An RGB image (H, W, 3) in 0-255 as YIQ (H, W, 3): Y in 0-255, I and Q signed."""
    return np.asarray(image, dtype=np.float64) @ RGB_TO_YIQ.T


def yiq_to_rgb(yiq):
    """The inverse of `rgb_to_yiq` (no clipping)."""
    return np.asarray(yiq, dtype=np.float64) @ YIQ_TO_RGB.T


def luminance_image(image, like=None):
    """The luminance of an RGB image as a gray RGB image (Y in all three channels), float32.

    With `like` (another RGB image), the luminance is first shifted and scaled to have the mean
    and standard deviation of `like`'s luminance, as the paper does to the style image so that
    its brightness range matches the content's.
    """
    luma = rgb_to_yiq(image)[:, :, 0]
    if like is not None:
        target = rgb_to_yiq(like)[:, :, 0]
        luma = (luma - luma.mean()) * (target.std() / max(luma.std(), 1e-6)) + target.mean()
    return np.repeat(np.clip(luma, 0.0, 255.0)[:, :, None], 3, axis=2).astype(np.float32)


def recombine_luminance(result, content):
    """The luminance Y of `result` with the I and Q (colour) channels of `content`, as uint8 RGB.

    Y is clipped per pixel to the range in which Y plus the content's I and Q is a valid RGB
    colour; clipping the RGB values instead would change the colour of bright or dark pixels.
    So the output's I and Q equal the content's up to the rounding to uint8.
    """
    result_yiq, content_yiq = rgb_to_yiq(result), rgb_to_yiq(content)
    chroma = content_yiq[:, :, 1:] @ YIQ_TO_RGB[:, 1:].T  # each RGB channel's part from I and Q
    low = np.max(-chroma, axis=2)                          # Y + chroma >= 0 for every channel
    high = np.min(255.0 - chroma, axis=2)                  # Y + chroma <= 255 for every channel
    luma = np.clip(result_yiq[:, :, 0], low, np.maximum(low, high))
    rgb = yiq_to_rgb(np.concatenate([luma[:, :, None], content_yiq[:, :, 1:]], axis=2))
    return to_uint8(rgb)


def match_color_histogram(style, content, eps=1e-5):
    """The style image with its colours moved to the content's mean and covariance (float32).

    Each style pixel p becomes A (p - mu_s) + mu_c with A = Sigma_c^(1/2) Sigma_s^(-1/2), the
    symmetric matrix square roots (eigen-decomposition) of the RGB covariances, so that the new
    pixels have exactly the content's mean mu_c and covariance Sigma_c (before clipping to 0-255).
    The paper names two such maps, this one and one built from Cholesky factors; they differ by a
    rotation of the colours. `eps` keeps the covariance of a flat image invertible.
    """
    style_pixels = np.asarray(style, dtype=np.float64).reshape(-1, 3)
    content_pixels = np.asarray(content, dtype=np.float64).reshape(-1, 3)
    mu_s, mu_c = style_pixels.mean(axis=0), content_pixels.mean(axis=0)
    sigma_s = np.cov(style_pixels, rowvar=False) + eps * np.eye(3)
    sigma_c = np.cov(content_pixels, rowvar=False) + eps * np.eye(3)
    transform = _matrix_power(sigma_c, 0.5) @ _matrix_power(sigma_s, -0.5)
    matched = (style_pixels - mu_s) @ transform.T + mu_c
    return np.clip(matched, 0.0, 255.0).reshape(np.shape(style)).astype(np.float32)


def _matrix_power(matrix, power):
    """A symmetric positive definite matrix to a real power, through its eigen-decomposition."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.maximum(values, 1e-12) ** power) @ vectors.T
