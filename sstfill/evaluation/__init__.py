"""Evaluation: metrics, protocols, calibration of the error, and sample quality (SSIM, Frechet distance, birthday test)."""
