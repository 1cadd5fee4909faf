#!/usr/bin/env python3
"""A stand-in for a training run, for trying WhatsNext out.

    train.py --lr 0.01 --epochs 5 [--seconds-per-epoch 0.1] [--fail-above-lr X]
             [--checkpoint FILE]

Sleeps a little per epoch and prints its progress. Run by wnworker, it also
reports results (docs/results.md): after each epoch it appends one JSON line
to the file named by $WN_RESULTS,

    {"epoch": 3, "loss": 0.4123, "acc": 0.7911}

so the server keeps the latest value and a history of each key while the job
runs, and the last line's values are the job's results. With --checkpoint it
writes a (made-up) model file there and reports its path as a text result;
name it in the task's `artifacts:` to have the worker record it. Last it
prints one result line:

    result lr=0.01 epochs=5 loss=0.1234

The loss is a made-up function of the arguments, so a sweep has a best run.
Exits 2 on bad arguments, 1 when --fail-above-lr is given and lr exceeds it
(to see a failing job).
"""
import argparse
import json
import math
import os
import sys
import time


def report(path, **values):
    """Append one report, a JSON object on a line, to the results file."""
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(values) + "\n")


def main():
    ap = argparse.ArgumentParser(description="a stand-in for a training run")
    ap.add_argument("--lr", type=float, required=True, help="learning rate")
    ap.add_argument("--epochs", type=int, required=True, help="number of epochs")
    ap.add_argument("--seconds-per-epoch", type=float, default=0.1)
    ap.add_argument("--fail-above-lr", type=float, default=None)
    ap.add_argument("--checkpoint", default=None, help="write a model file here")
    args = ap.parse_args()
    if args.lr <= 0 or args.epochs <= 0:
        ap.error("--lr and --epochs must be positive")

    job = os.environ.get("WN_JOB_ID", "-")
    attempt = os.environ.get("WN_ATTEMPT", "-")
    print(f"job {job} attempt {attempt}: lr={args.lr} epochs={args.epochs}", flush=True)
    results = os.environ.get("WN_RESULTS")
    loss = 1.0
    for epoch in range(1, args.epochs + 1):
        time.sleep(args.seconds_per_epoch)
        # Best near lr = 0.01; more epochs help, with diminishing returns.
        loss = abs(math.log10(args.lr) + 2) * 0.3 + 1.0 / (1 + epoch) + 0.01
        print(f"epoch {epoch}/{args.epochs} loss={loss:.4f}", flush=True)
        report(results, epoch=epoch, loss=round(loss, 4), acc=round(1 - loss / 2, 4))
    if args.fail_above_lr is not None and args.lr > args.fail_above_lr:
        print(f"diverged: lr {args.lr} is above {args.fail_above_lr}", file=sys.stderr)
        return 1
    if args.checkpoint:
        os.makedirs(os.path.dirname(args.checkpoint) or ".", exist_ok=True)
        with open(args.checkpoint, "w") as f:
            json.dump({"lr": args.lr, "epochs": args.epochs, "weights": [loss] * 8}, f)
        report(results, checkpoint=args.checkpoint)
    print(f"result lr={args.lr:g} epochs={args.epochs} loss={loss:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
