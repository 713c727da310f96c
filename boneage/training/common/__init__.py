"""What every trainer shares: the budgeted loop, the configuration, the augmentation, cards,
splits, the image cache, conformal calibration and the dataset layouts."""
