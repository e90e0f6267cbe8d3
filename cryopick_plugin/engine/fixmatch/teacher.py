"""The EMA (mean) teacher of Selective FixMatch: used in training only."""
import copy

import torch


class EMATeacher:
    """Mean-teacher weights: theta_ema <- a * theta_ema + (1 - a) * theta_student.

    The decay starts low and rises to ``decay`` ((1 + t) / (10 + t), as in Mean Teacher's
    reference code): with 0.999 from the first step the teacher would stay near its random
    initialisation for the thousand-odd steps a CPU run makes. BatchNorm statistics are copied.
    """

    def __init__(self, student, decay=0.999):
        self.model = copy.deepcopy(student).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.steps = 0

    @torch.no_grad()
    def update(self, student):
        self.steps += 1
        a = min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        for t, s in zip(self.model.parameters(), student.parameters()):
            t.mul_(a).add_(s.detach(), alpha=1.0 - a)
        for t, s in zip(self.model.buffers(), student.buffers()):
            t.copy_(s)
