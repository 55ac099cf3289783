"""Training: tile banks and splits, losses, and the trainer."""
