#!/usr/bin/env python3
"""The SegAN D+G step of src/segan/trainer.ts in PyTorch eager (fp32), for the GPU check's ratio.

Same networks as src/segan/model.ts (segmentor: 4 strided 4x4 convs, 3 bilinear-x2 + 3x3 conv stages
with added skips, a last bilinear-x2 + 3x3 conv + sigmoid; one critic per class: 3 strided 4x4 convs;
batch norm where our model has it, LeakyReLU 0.2), the same losses (multi-scale L1 over the critic's
features, soft Dice with weight 1) and Adam (lr 2e-4, betas 0.5/0.999, critic clamp +-0.05): the
`code` preset. Prints one JSON line: {"device", "ms", "ms_all", "tf32", ...}.

  python3 bench/peers/segan_torch.py --batch 8 --width 1 --size 160 --classes 3 [--device cuda] [--tf32]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def ch(base, width):
    return max(1, round(base * width))


class Segmentor(nn.Module):
    def __init__(self, m, k, width):
        super().__init__()
        e = [ch(c, width) for c in (64, 128, 256, 512)]
        self.enc = nn.ModuleList([nn.Conv2d(m if i == 0 else e[i - 1], c, 4, 2, 1, bias=(i == 0)) for i, c in enumerate(e)])
        self.enc_bn = nn.ModuleList([nn.Identity() if i == 0 else nn.BatchNorm2d(c) for i, c in enumerate(e)])
        outs = [e[2], e[1], e[0]]
        ins = [e[3]] + outs
        self.dec = nn.ModuleList([nn.Conv2d(ins[i], c, 3, 1, 1, bias=False) for i, c in enumerate(outs)] + [nn.Conv2d(ins[3], k, 3, 1, 1)])
        self.dec_bn = nn.ModuleList([nn.BatchNorm2d(c) for c in outs])

    def forward(self, x):
        feats, h = [], x
        for conv, bn in zip(self.enc, self.enc_bn):
            h = F.leaky_relu(bn(conv(h)), 0.2)
            feats.append(h)
        for i in range(3):
            up = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            h = F.relu(self.dec_bn[i](self.dec[i](up))) + feats[2 - i]
        up = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.dec[3](up))


class Critic(nn.Module):
    def __init__(self, m, width):
        super().__init__()
        c = [ch(v, width) for v in (64, 128, 256)]
        self.convs = nn.ModuleList([nn.Conv2d(m if i == 0 else c[i - 1], o, 4, 2, 1, bias=(i == 0)) for i, o in enumerate(c)])
        self.bns = nn.ModuleList([nn.Identity() if i == 0 else nn.BatchNorm2d(o) for i, o in enumerate(c)])

    def features(self, x):
        out, h = [x], x
        for conv, bn in zip(self.convs, self.bns):
            h = F.leaky_relu(bn(conv(h)), 0.2)
            out.append(h)
        return out


def multi_scale_l1(fa, fb):
    return sum((a - b).abs().mean() for a, b in zip(fa, fb)) / len(fa)


def dice_loss(p, y, eps=1e-6):
    dims = (2, 3)
    num = 2 * (p * y).sum(dims)
    den = (p * p).sum(dims) + (y * y).sum(dims)
    return 1 - ((num + eps) / (den + eps)).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in matmuls and convolutions (off by default)")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device(a.device)
    torch.manual_seed(1)
    S = Segmentor(3, a.classes, a.width).to(dev)
    C = nn.ModuleList([Critic(3, a.width) for _ in range(a.classes)]).to(dev)
    opt_s = torch.optim.Adam(S.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_c = torch.optim.Adam(C.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = torch.rand(a.batch, 3, a.size, a.size, device=dev)
    y = (torch.rand(a.batch, a.classes, a.size, a.size, device=dev) > 0.7).float()

    def adversarial(p, sign):
        return sign * sum(multi_scale_l1(c.features(x * p[:, k:k + 1]), c.features(x * y[:, k:k + 1])) for k, c in enumerate(C)) / len(C)

    def step():
        # D step: the segmentor's output without a graph, the critics maximise the L1
        for p in C.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            pd = S(x)
        loss_c = adversarial(pd, -1)
        opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        opt_c.step()
        with torch.no_grad():
            for p in C.parameters():
                p.clamp_(-0.05, 0.05)
        # G step: critics frozen
        for p in C.parameters():
            p.requires_grad_(False)
        ps = S(x)
        loss_s = adversarial(ps, 1) + dice_loss(ps, y)
        opt_s.zero_grad(set_to_none=True)
        loss_s.backward()
        opt_s.step()

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(2):
        step()
    sync()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(json.dumps({"device": name, "torch": torch.__version__, "tf32": a.tf32, "batch": a.batch, "width": a.width, "size": a.size,
                      "classes": a.classes, "ms": times[len(times) // 2], "ms_all": times}))


if __name__ == "__main__":
    main()
