#!/usr/bin/env python3
"""A stand-in for a training run, for trying WhatsNext out.

    train.py --lr 0.01 --epochs 5 [--seconds-per-epoch 0.1] [--fail-above-lr X]

Sleeps a little per epoch, prints its progress and, last, one result line:

    result lr=0.01 epochs=5 loss=0.1234

The loss is a made-up function of the arguments, so a sweep has a best run.
Exits 2 on bad arguments, 1 when --fail-above-lr is given and lr exceeds it
(to see a failing job).
"""
import argparse
import math
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser(description="a stand-in for a training run")
    ap.add_argument("--lr", type=float, required=True, help="learning rate")
    ap.add_argument("--epochs", type=int, required=True, help="number of epochs")
    ap.add_argument("--seconds-per-epoch", type=float, default=0.1)
    ap.add_argument("--fail-above-lr", type=float, default=None)
    args = ap.parse_args()
    if args.lr <= 0 or args.epochs <= 0:
        ap.error("--lr and --epochs must be positive")

    job = os.environ.get("WN_JOB_ID", "-")
    attempt = os.environ.get("WN_ATTEMPT", "-")
    print(f"job {job} attempt {attempt}: lr={args.lr} epochs={args.epochs}", flush=True)
    loss = 1.0
    for epoch in range(1, args.epochs + 1):
        time.sleep(args.seconds_per_epoch)
        # Best near lr = 0.01; more epochs help, with diminishing returns.
        loss = abs(math.log10(args.lr) + 2) * 0.3 + 1.0 / (1 + epoch) + 0.01
        print(f"epoch {epoch}/{args.epochs} loss={loss:.4f}", flush=True)
    if args.fail_above_lr is not None and args.lr > args.fail_above_lr:
        print(f"diverged: lr {args.lr} is above {args.fail_above_lr}", file=sys.stderr)
        return 1
    print(f"result lr={args.lr:g} epochs={args.epochs} loss={loss:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
