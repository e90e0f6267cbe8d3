"""The positive-unlabelled risk both pickers use (nnPU, Kiryo et al. 2017).

Unlabelled examples (pixels for the U-Net, random patches for the classifier) are a mix of
particles, a share ``prior`` of them, and background. Their background risk minus the
particles' share, estimated on the labelled particles, estimates the risk of the background
alone; when that estimate goes negative (the network overfits the few labels) its gradient is
reversed, as nnPU does.
"""
import torch


def background_risk(labelled_as_background, unlabelled_as_background, prior):
    """The risk of calling the true background background, estimated from unlabelled
    examples: (R_U(bg) - prior R_P(bg)) / (1 - prior), kept non-negative by nnPU's rule."""
    estimate = unlabelled_as_background - prior * labelled_as_background
    return torch.where(estimate >= 0, estimate, -estimate) / (1.0 - prior)


def unlabelled_risk(labelled_as_particle, labelled_as_background, unlabelled_as_background,
                    prior):
    """The risk of the unlabelled examples: prior R_P(particle) + (1 - prior) R_N(bg)."""
    return prior * labelled_as_particle + (1.0 - prior) * background_risk(
        labelled_as_background, unlabelled_as_background, prior)
