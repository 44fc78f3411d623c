"""Image-quality metrics for judging generated photos: FSIM/FSIMc, SSIM and PSNR; and CIEDE2000
colour differences.

FSIM, SSIM and PSNR are pure-torch re-implementations of piq 0.8.0 (piq itself imports
torchvision, which this project cannot depend on). They reproduce piq's numbers, including its
quirks, so that scores here are comparable with published ones; tests/test_metrics.py checks them
against reference values. Each takes (N, 3, H, W) float images in [0, 1] and returns one score per
image, shape (N,).

`ciede2000` (CIE 2000 colour difference in CIELAB, numpy, per pixel) judges colours where a
sketch's colour hints ask for them: a difference of about 1 is just visible, above 10 the colours
are clearly different. tests/test_metrics.py checks it against Sharma, Wu & Dalal's test data.
"""

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

METRIC_SIZE = 256  # every image is compared at 256x256, the size the reference values use

# FSIM constants from Zhang et al. 2011, scaled for pixel values in [0, 255].
FSIM_T1, FSIM_T2, FSIM_T3, FSIM_T4, FSIM_LAMBDA = 0.85, 160.0, 200.0, 200.0, 0.03

# Log-Gabor filter bank and noise model of the phase congruency (Kovesi), piq's defaults.
PC_SCALES, PC_ORIENTATIONS = 4, 4
PC_MIN_WAVELENGTH, PC_MULT = 6, 2
PC_SIGMA_F, PC_DELTA_THETA = 0.55, 1.2
PC_NOISE_K = 2.0  # noise threshold: this many standard deviations above the mean noise energy

RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]]
)


def load_for_metrics(path_or_image: str | Path | Image.Image) -> torch.Tensor:
    """Open an image the way the reference values were made: RGB, 256x256 bicubic, (1, 3, H, W)."""
    image = path_or_image if isinstance(path_or_image, Image.Image) else Image.open(path_or_image)
    image = image.convert("RGB").resize((METRIC_SIZE, METRIC_SIZE), Image.BICUBIC)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    return pixels.permute(2, 0, 1).unsqueeze(0).contiguous()


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB over all channels; the 1e-8 keeps identical images finite."""
    _check_pair(x, y)
    mse = ((x - y) ** 2).mean(dim=(1, 2, 3))
    return -10 * torch.log10(mse + 1e-8)


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Structural similarity: 11x11 Gaussian window (sigma 1.5), no padding, mean over channels."""
    _check_pair(x, y)
    x, y = _downsample(x), _downsample(y)
    c1, c2 = 0.01**2, 0.03**2
    channels = x.size(1)
    window = _gaussian_window(11, 1.5, x).expand(channels, 1, 11, 11)

    def local_mean(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=channels)

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov = local_mean(x * y) - mu_x * mu_y
    contrast_structure = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return (luminance * contrast_structure).mean(dim=(2, 3)).mean(dim=1)


def fsim(x: torch.Tensor, y: torch.Tensor, chromatic: bool = True) -> torch.Tensor:
    """Feature similarity (FSIM), or FSIMc with chromatic=True, as in piq.

    Phase congruency finds the perceptually salient features (edges, lines) and weights the
    comparison of phase congruency and gradient magnitude at every pixel; FSIMc also compares
    the I and Q chroma channels of YIQ.
    """
    _check_pair(x, y)
    x, y = _downsample(x * 255), _downsample(y * 255)
    x_yiq, y_yiq = _rgb_to_yiq(x), _rgb_to_yiq(y)
    x_lum, y_lum = x_yiq[:, :1], y_yiq[:, :1]

    filters = _log_gabor_filters(x_lum.size(-2), x_lum.size(-1), x_lum)
    pc_x = _phase_congruency(x_lum, filters)
    pc_y = _phase_congruency(y_lum, filters)
    pc_max = torch.maximum(pc_x, pc_y)

    score = (
        _similarity(pc_x, pc_y, FSIM_T1)
        * _similarity(_gradient_magnitude(x_lum), _gradient_magnitude(y_lum), FSIM_T2)
        * pc_max
    )
    if chromatic:
        s_i = _similarity(x_yiq[:, 1:2], y_yiq[:, 1:2], FSIM_T3)
        s_q = _similarity(x_yiq[:, 2:], y_yiq[:, 2:], FSIM_T4)
        score = score * (s_i * s_q).abs() ** FSIM_LAMBDA
    return score.sum(dim=(1, 2, 3)) / pc_max.sum(dim=(1, 2, 3))


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.dim() != 4 or x.size(1) != 3:
        raise ValueError(f"Expected images of shape (N, 3, H, W), got {tuple(x.shape)}.")
    if x.shape != y.shape:
        raise ValueError(
            f"Both images must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}."
        )
    if not (x.is_floating_point() and y.is_floating_point()):
        raise ValueError("Images must be float tensors with values in [0, 1].")
    if min(x.min(), y.min()) < 0 or max(x.max(), y.max()) > 1:
        raise ValueError("Image values must lie in [0, 1]; scale 8-bit images by 1/255 first.")


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """Average-pool large images towards ~256 px, which is the scale the constants were tuned at."""
    factor = max(1, round(min(x.shape[-2:]) / 256))
    return F.avg_pool2d(x, factor) if factor > 1 else x


def _gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(coords[None, :] ** 2 + coords[:, None] ** 2) / (2 * sigma**2))
    return (g / g.sum())[None, None]


def _rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("nchw,dc->ndhw", x, RGB_TO_YIQ.to(x))


def _similarity(a: torch.Tensor, b: torch.Tensor, constant: float) -> torch.Tensor:
    """Dice-like similarity (2ab + c) / (a^2 + b^2 + c); the constant keeps flat areas stable."""
    return (2 * a * b + constant) / (a**2 + b**2 + constant)


def _gradient_magnitude(lum: torch.Tensor) -> torch.Tensor:
    scharr = torch.tensor([[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]) / 16
    kernels = torch.stack([scharr, scharr.T])[:, None].to(lum)
    grads = F.conv2d(lum, kernels, padding=1)
    return grads.pow(2).sum(dim=1, keepdim=True).sqrt()


def _frequency_grid(h: int, w: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised frequency coordinates centred at zero; like piq, the first axis runs over rows."""

    def axis(n: int) -> torch.Tensor:
        if n % 2:
            return torch.arange(-(n - 1) / 2, n / 2, dtype=like.dtype, device=like.device) / (n - 1)
        return torch.arange(-n / 2, n / 2, dtype=like.dtype, device=like.device) / n

    return torch.meshgrid(axis(h), axis(w), indexing="ij")


def _ifftshift(x: torch.Tensor) -> torch.Tensor:
    return torch.roll(x, [-(n // 2) for n in x.shape], dims=(0, 1))


def _log_gabor_filters(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Frequency-domain filter bank, shape (orientations, scales, H, W), zero frequency at [0, 0].

    Each filter is a radial log-Gabor band times an angular Gaussian, multiplied by a Butterworth
    low-pass (cutoff 0.45, order 15) so that no energy from the FFT's corners leaks in.
    """
    grid_x, grid_y = _frequency_grid(h, w, like)
    radius = torch.sqrt(grid_x**2 + grid_y**2)
    lowpass = _ifftshift(1.0 / (1.0 + (radius / 0.45) ** 30))
    theta = _ifftshift(torch.atan2(-grid_y, grid_x))
    radius = _ifftshift(radius)
    radius[0, 0] = 1  # avoid log(0); the DC term is zeroed below

    radial = []
    for s in range(PC_SCALES):
        centre_frequency = 1.0 / (PC_MIN_WAVELENGTH * PC_MULT**s)
        band = torch.exp(
            -(torch.log(radius / centre_frequency) ** 2) / (2 * math.log(PC_SIGMA_F) ** 2)
        )
        band = band * lowpass
        band[0, 0] = 0
        radial.append(band)

    theta_sigma = math.pi / (PC_ORIENTATIONS * PC_DELTA_THETA)
    angular = []
    for o in range(PC_ORIENTATIONS):
        angle = o * math.pi / PC_ORIENTATIONS
        # Angular distance via atan2 of sine and cosine differences avoids the wrap-around at pi.
        d_sin = torch.sin(theta) * math.cos(angle) - torch.cos(theta) * math.sin(angle)
        d_cos = torch.cos(theta) * math.cos(angle) + torch.sin(theta) * math.sin(angle)
        d_theta = torch.atan2(d_sin, d_cos).abs()
        angular.append(torch.exp(-(d_theta**2) / (2 * theta_sigma**2)))

    return torch.stack(angular)[:, None] * torch.stack(radial)[None, :]


def _phase_congruency(lum: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """Kovesi's phase congruency (PC_2 measure) of a luminance batch (N, 1, H, W) -> (N, 1, H, W).

    The noise threshold is estimated per image and orientation from the median response of the
    finest scale, assuming Rayleigh-distributed noise energy, as in piq and the FSIM MATLAB code.
    """
    eps = torch.finfo(lum.dtype).eps
    n, _, h, w = lum.shape
    responses = torch.fft.ifft2(torch.fft.fft2(lum)[:, :, None] * filters)  # (N, O, S, H, W)
    even, odd = responses.real, responses.imag
    amplitude = responses.abs()

    # Weighted mean phase direction per orientation, then energy = sum An (cos - |sin|) of the
    # deviation from it, computed with dot and cross products.
    sum_even = even.sum(dim=2, keepdim=True)
    sum_odd = odd.sum(dim=2, keepdim=True)
    norm = torch.sqrt(sum_even**2 + sum_odd**2) + eps
    mean_even, mean_odd = sum_even / norm, sum_odd / norm
    energy = (even * mean_even + odd * mean_odd - (even * mean_odd - odd * mean_even).abs()).sum(
        dim=2
    )  # (N, O, H, W)

    # Noise power from the median squared response at the finest scale (torch.median takes the
    # lower middle value, as piq does), divided by the filter's mean squared value.
    finest_power = (amplitude[:, :, 0] ** 2).reshape(n, PC_ORIENTATIONS, h * w)
    median_power = finest_power.median(dim=-1).values
    filter_power = (filters[:, 0] ** 2).sum(dim=(-2, -1))
    noise_power = (-median_power / math.log(0.5)) / filter_power  # (N, O)

    # Expected total noise energy^2 from the spatial filters: sum An^2 + cross terms between scales.
    spatial = torch.fft.ifft2(filters).real * math.sqrt(h * w)  # (O, S, H, W)
    sum_sq = (spatial**2).sum(dim=(1, 2, 3))
    sum_cross = sum(
        (spatial[:, s : s + 1] * spatial[:, s + 1 :]).sum(dim=(1, 2, 3))
        for s in range(PC_SCALES - 1)
    )
    noise_energy_sq = 2 * noise_power * sum_sq + 4 * noise_power * sum_cross
    tau = torch.sqrt(noise_energy_sq / 2)  # Rayleigh parameter
    threshold = tau * math.sqrt(math.pi / 2) + PC_NOISE_K * torch.sqrt((2 - math.pi / 2) * tau**2)
    threshold = threshold / 1.7  # empirical rescaling of the PC_1 noise estimate for PC_2

    energy = torch.clamp(energy - threshold[:, :, None, None], min=0)
    pc = (energy.sum(dim=1) + eps) / (amplitude.sum(dim=(1, 2)) + eps)
    return pc[:, None]


# sRGB (IEC 61966-2-1) to CIE XYZ under D65, and the D65 white point.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
D65_WHITE = SRGB_TO_XYZ.sum(axis=1)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB on [0, 1] -> (..., 3) CIELAB (L* 0..100) under D65, float64."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ SRGB_TO_XYZ.T / D65_WHITE
    delta = 6 / 29
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of (..., 3) CIELAB colours, (...), with kL = kC = kH = 1.

    The formula as Sharma, Wu & Dalal (2005) write it out, hue angles in degrees; hue differences
    take the short way round the circle, and a colour without chroma has hue 0.
    """
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1 = np.where(c1 == 0, 0.0, np.degrees(np.arctan2(b1, a1)) % 360)
    h2 = np.where(c2 == 0, 0.0, np.degrees(np.arctan2(b2, a2)) % 360)

    chroma_product = c1 * c2
    dh = h2 - h1
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(chroma_product == 0, 0.0, dh)
    d_l, d_c = l2 - l1, c2 - c1
    d_h = 2 * np.sqrt(chroma_product) * np.sin(np.radians(dh / 2))

    l_bar, c_bar = (l1 + l2) / 2, (c1 + c2) / 2
    h_sum = h1 + h2
    h_bar = np.where(
        np.abs(h1 - h2) <= 180,
        h_sum / 2,
        np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2),
    )
    h_bar = np.where(chroma_product == 0, h_sum, h_bar)
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * c_bar
    s_h = 1 + 0.015 * c_bar * t
    rotation = (
        -2
        * np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2))))
    )
    return np.sqrt(
        (d_l / s_l) ** 2
        + (d_c / s_c) ** 2
        + (d_h / s_h) ** 2
        + rotation * (d_c / s_c) * (d_h / s_h)
    )
