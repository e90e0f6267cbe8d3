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


def plot_training_history(summary, path):
    """Loss per epoch across phases, pseudo-label coverage and validation F1/AP per iteration."""
    plt = _pyplot()
    its = summary["iterations"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    start = 0
    for it in its:
        losses = it["losses"]
        label = "initial training" if it["iteration"] == 0 else f"iteration {it['iteration']}"
        axes[0].plot(range(start + 1, start + len(losses) + 1), losses, label=label)
        start += len(losses)
    axes[0].set(xlabel="epoch", ylabel="loss (BCE, non-ignored pixels)", title="Training loss")
    axes[0].legend(fontsize=8)
    x = [it["iteration"] for it in its]
    for key, name in (("positive_pixels", "positive"), ("negative_pixels", "negative"),
                      ("ignored_pixels", "ignored")):
        xs = [it["iteration"] for it in its if key in it]
        if xs:
            axes[1].plot(xs, [it[key] for it in its if key in it], "o-", label=f"{name} pixels")
    for key in ("f1", "ap"):
        if any("validation" in it for it in its):
            axes[1].plot([i for i, it in zip(x, its) if "validation" in it],
                         [it["validation"][key] for it in its if "validation" in it],
                         "s--", label=f"validation {key.upper()}")
    from matplotlib.ticker import MaxNLocator

    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set(xlabel="self-training iteration", ylim=(0, 1.02), title="Labels and validation")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_fixmatch_history(results, path):
    """FixMatch training per epoch: the two losses, the mask rate and validation AUC."""
    plt = _pyplot()
    h = results["history"]
    ep = [e["epoch"] for e in h]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    axes[0].plot(ep, [e["l_sup"] for e in h], "o-", label="L_sup")
    axes[0].plot(ep, [e["l_cons"] for e in h], "o-", label="L_cons")
    axes[0].plot(ep, [e["lam"] for e in h], ":", color="grey", label="lambda")
    axes[0].set(xlabel="epoch", ylabel="loss", title="Training losses")
    axes[0].legend(fontsize=8)
    axes[1].plot(ep, [e["auc"] for e in h], "o-", label="validation AUC (student)")
    axes[1].plot(ep, [e["auc_ema"] for e in h], "s-", label="validation AUC (EMA teacher)")
    axes[1].plot(ep, [e["mask"] for e in h], "^--", label="mask rate (confident pseudo-labels)")
    axes[1].plot(ep, [e["mask_pos"] for e in h], "v:", label="confident particles")
    axes[1].set(xlabel="epoch", ylim=(0, 1.02), title=f"Validation ({results['validation']})")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
