"""Projective image transforms as TF's ``ImageProjectiveTransformV3`` computes them (float32).

A transform ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps each output pixel ``(x, y)`` to the input
point ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``.
Points outside the image are first mapped by ``fill_mode``:

* ``reflect``: ``(d c b a | a b c d | d c b a)``, mirrored about the pixel edges;
* ``wrap``: ``(a b c d | a b c d | a b c d)``;
* ``nearest``: ``(a a a a | a b c d | d d d d)``;
* ``constant``: left alone; pixels read from outside the image are ``fill_value``;

then read with ``nearest`` (round half away from zero) or ``bilinear`` interpolation. The
matrices RandomRotation, RandomZoom and RandomTranslation use are built here too.

>>> img = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
>>> shift = translation_matrices(np.array([[1.0, 0.0]]))   # one pixel to the right
>>> transform(img, shift, "nearest", "constant", 0.0)[0, 0, :, 0].tolist()
[0.0, 0.0, 1.0, 2.0]
>>> transform(img, shift, "nearest", "reflect", 0.0)[0, 0, :, 0].tolist()
[0.0, 0.0, 1.0, 2.0]
>>> transform(img, shift, "nearest", "wrap", 0.0)[0, 0, :, 0].tolist()
[3.0, 0.0, 1.0, 2.0]
"""

from __future__ import annotations

import numpy as np

_F = np.float32


def _reflect(c: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return np.zeros_like(c)
    size2 = _F(2 * n)
    low, high = c < 0, c > n - 1  # one rule per point, chosen before either applies
    lo = c[low]
    lo = size2 * np.trunc(-lo / size2) + lo
    c[low] = np.where(lo < -n, lo + size2, -lo - 1)
    hi = c[high]
    hi = hi - size2 * np.trunc(hi / size2)
    c[high] = np.where(hi >= n, size2 - hi - 1, hi)
    return np.clip(c, 0, n - 1)


def _wrap(c: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return np.zeros_like(c)
    size = _F(n - 1)
    low, high = c < 0, c > n - 1
    c[low] += n * (np.trunc(-c[low] / size) + 1)
    c[high] -= n * np.trunc(c[high] / size)
    return np.clip(c, 0, n - 1)


def _map(c: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    if fill_mode == "reflect":
        return _reflect(c, n)
    if fill_mode == "wrap":
        return _wrap(c, n)
    if fill_mode == "nearest":
        return np.clip(c, 0, n - 1)
    if fill_mode == "constant":
        return c
    raise ValueError(f"Unknown fill_mode {fill_mode!r}: expected 'reflect', 'wrap', "
                     "'constant' or 'nearest'.")


def _read(image: np.ndarray, y: np.ndarray, x: np.ndarray, fill_value) -> np.ndarray:
    """``image[y, x]`` (integral float coordinates), ``fill_value`` outside the image."""
    h, w = image.shape[:2]
    inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    yi = np.where(inside, y, 0).astype(np.int64)
    xi = np.where(inside, x, 0).astype(np.int64)
    return np.where(inside[..., None], image[yi, xi], _F(fill_value))


def transform(images: np.ndarray, transforms: np.ndarray, interpolation: str = "bilinear",
              fill_mode: str = "reflect", fill_value: float = 0.0) -> np.ndarray:
    """``images`` ``(batch, H, W, C)`` transformed by one row of ``transforms`` each."""
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Unknown interpolation {interpolation!r}: expected 'nearest' or "
                         "'bilinear'.")
    images = np.asarray(images, _F)
    n, h, w, _ = images.shape
    ys, xs = np.meshgrid(np.arange(h, dtype=_F), np.arange(w, dtype=_F), indexing="ij")
    out = np.empty_like(images)
    for b in range(n):
        a0, a1, a2, b0, b1, b2, c0, c1 = np.asarray(transforms[b], _F)
        k = c0 * xs + c1 * ys + _F(1)
        safe = np.where(k == 0, _F(1), k)
        x = _map((a0 * xs + a1 * ys + a2) / safe, w, fill_mode)
        y = _map((b0 * xs + b1 * ys + b2) / safe, h, fill_mode)
        if interpolation == "nearest":
            value = _read(images[b], _round(y), _round(x), fill_value)
        else:
            y0, x0 = np.floor(y), np.floor(x)
            y1, x1 = y0 + 1, x0 + 1
            wx0, wx1 = (x1 - x)[..., None], (x - x0)[..., None]
            top = wx0 * _read(images[b], y0, x0, fill_value) + \
                wx1 * _read(images[b], y0, x1, fill_value)
            bottom = wx0 * _read(images[b], y1, x0, fill_value) + \
                wx1 * _read(images[b], y1, x1, fill_value)
            value = (y1 - y)[..., None] * top + (y - y0)[..., None] * bottom
        out[b] = np.where((k == 0)[..., None], _F(fill_value), value)
    return out


def _round(v: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, np.floor(v + _F(0.5)), np.ceil(v - _F(0.5)))


def translation_matrices(shifts: np.ndarray) -> np.ndarray:
    """Rows for ``(dx, dy)`` pixel shifts (content moves right / down)."""
    shifts = np.asarray(shifts, _F)
    one, zero = np.ones(len(shifts), _F), np.zeros(len(shifts), _F)
    return np.stack([one, zero, -shifts[:, 0], zero, one, -shifts[:, 1], zero, zero], axis=1)


def rotation_matrices(angles: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rows rotating by ``angles`` (radians, counter-clockwise) about the image centre."""
    angles = np.asarray(angles, _F)
    cos, sin = np.cos(angles), np.sin(angles)
    h, w = _F(height - 1), _F(width - 1)
    x_offset = (w - (cos * w - sin * h)) / _F(2)
    y_offset = (h - (sin * w + cos * h)) / _F(2)
    zero = np.zeros_like(angles)
    return np.stack([cos, -sin, x_offset, sin, cos, y_offset, zero, zero], axis=1)


def zoom_matrices(zooms: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rows scaling input coordinates by ``(zx, zy)`` about the centre (> 1 zooms out)."""
    zooms = np.asarray(zooms, _F)
    x_offset = (_F(width - 1) / _F(2)) * (_F(1) - zooms[:, 0])
    y_offset = (_F(height - 1) / _F(2)) * (_F(1) - zooms[:, 1])
    zero = np.zeros(len(zooms), _F)
    return np.stack([zooms[:, 0], zero, x_offset, zero, zooms[:, 1], y_offset, zero, zero],
                    axis=1)
