"""PNG figures for run folders (matplotlib with the Agg backend: no display needed)."""
import os


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_precision_recall(result, path, title="Precision-recall"):
    """Precision against recall over the score ranking of an evaluate() result."""
    plt = _pyplot()
    curve, overall = result["curve"], result["overall"]
    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=100)
    if curve["recall"]:
        ax.step(curve["recall"], curve["precision"], where="post", color="tab:blue",
                label=f"AP {overall['ap']:.3f}")
    ax.plot([overall["recall"]], [overall["precision"]], "o", color="tab:red",
            label=f"all picks: P {overall['precision']:.2f} R {overall['recall']:.2f}")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
