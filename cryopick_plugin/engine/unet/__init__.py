"""The U-Net self-training picker (seed 000): network, picker, masks, losses, training."""
