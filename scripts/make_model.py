"""Build `sim-tiny`: a bigram language model of scripts/corpus.txt packed as a llama GGUF.

Why: tests and demos need a real Ollama model that loads in milliseconds, answers
in readable (if meaningless) English, is deterministic at temperature 0 and stops
by itself. Instead of training anything we write the weights by hand:

* every token maps to a one-hot "state" vector (its own word, or a shared
  "start" state for bytes, control and prefix tokens);
* the single transformer layer adds nothing (attn_output and ffn_down are zero),
  so the final RMS norm sees the one-hot vector and scales it by a constant;
* output.weight column s holds log P(next | s) divided by that constant, so the
  logits are exactly the bigram log-probabilities of the corpus.

Usage: python scripts/make_model.py OUT_DIR  ->  OUT_DIR/sim-tiny.gguf, OUT_DIR/Modelfile
"""
from __future__ import annotations

import collections
import math
import re
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, LlamaFileType, TokenType

CORPUS = Path(__file__).with_name("corpus.txt")
MODEL_NAME = "sim-tiny"
SPACE = "\u2581"  # sentencepiece word-boundary marker
SENTENCE_END = (".", "?", "!")
P_EOS = 0.4  # chance of ending the reply after a sentence; keeps answers short
SMOOTHING = 0.003  # pseudo-count among mid-sentence words: a little word salad
NEVER = -40.0  # log-prob for tokens that must not be sampled
CONTEXT_LENGTH = 8192
FFN_LENGTH = 64
HEAD_DIM = 32  # one attention head this wide: attention is pure cost here, keep it small
RMS_EPS = 1e-5
FIRST_WORD = 3 + 256  # token id of the first corpus word, after specials and bytes

# num_thread 1: with two threads, llama.cpp's threads spin at barriers and a tiny model
# slows 10-50x whenever another process (a test, a second runner) holds the other core.
MODELFILE = '''FROM ./sim-tiny.gguf
TEMPLATE """{{- range .Messages }}### {{ .Role }}:
{{ .Content }}
{{ end }}### assistant:
"""
PARAMETER stop "###"
PARAMETER num_predict 40
PARAMETER num_ctx 8192
PARAMETER temperature 0.8
PARAMETER num_thread 1
'''


def read_sentences(path: Path = CORPUS) -> list[list[str]]:
    """Corpus as sentences of sentencepiece-style pieces ("▁guard", ",", ".")."""
    sentences = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pieces = [w if w in ".,?!" else SPACE + w for w in re.findall(r"[A-Za-z]+|[.,?!]", line)]
        current: list[str] = []
        for piece in pieces:
            current.append(piece)
            if piece in SENTENCE_END:
                sentences.append(current)
                current = []
        if current:
            raise ValueError(f"corpus line does not end a sentence: {line!r}")
    return sentences


def build_vocab(words: list[str], openers: list[str]) -> tuple[list[str], list[float], list[int]]:
    """SPM vocabulary: specials, 256 byte tokens, corpus words, reply openers, prefixes.

    llama.cpp's SPM tokenizer only merges two adjacent symbols when the merged text
    is a token, so every word also needs its chain of prefixes ("▁g", "▁gu", ...)
    to be recognised as a single token in the prompt.
    """
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    known = set(words) | set(openers)
    prefixes = sorted({w[:i] for w in words for i in range(1, len(w))} - known)  # "▁" too
    normal = words + openers + prefixes
    scores = [0.0] * len(tokens) + [float(len(p)) for p in normal]  # longer merges win
    return tokens + normal, scores, types + [TokenType.NORMAL] * len(normal)


def bigram_logprobs(sentences: list[list[str]], vocab: list[str], n_words: int) -> np.ndarray:
    """Log P(next token | state) with shape (n_vocab, n_states).

    States 0..n_words-1 are the corpus words (vocab[FIRST_WORD + s]); state n_words is
    "start", used for every other token. The chat template ends with a newline
    byte, so the first reply token is drawn from "start": a capitalised sentence
    opener without the leading space.
    """
    index = {tok: i for i, tok in enumerate(vocab)}
    counts = np.zeros((len(vocab), n_words + 1))
    starts = collections.Counter(s[0] for s in sentences)
    for sentence in sentences:
        for prev, nxt in zip(sentence, sentence[1:]):
            counts[index[nxt], index[prev] - FIRST_WORD] += 1
    inner = sorted({index[p] for s in sentences for p in s[1:]})  # no "Hello" mid-sentence
    counts[np.ix_(inner, range(n_words))] += SMOOTHING
    probs = counts / counts.sum(axis=0, keepdims=True).clip(min=1e-30)

    start_probs = np.zeros(len(vocab))
    for piece, n in starts.items():
        start_probs[index[piece]] = n
    start_probs /= start_probs.sum()
    for piece in SENTENCE_END:
        probs[:, index[piece] - FIRST_WORD] = (1 - P_EOS) * start_probs
        probs[index["</s>"], index[piece] - FIRST_WORD] = P_EOS
    for piece, n in starts.items():  # opener "The" stands for "▁The" at reply start
        probs[index[piece[1:]], n_words] = n
    probs[:, n_words] /= probs[:, n_words].sum()
    with np.errstate(divide="ignore"):
        return np.where(probs > 0, np.log(probs), NEVER)


def write_model(out_dir: Path) -> Path:
    """Write sim-tiny.gguf and its Modelfile into out_dir; return the Modelfile path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sentences = read_sentences()
    words = sorted({p for s in sentences for p in s})
    openers = sorted({s[0][1:] for s in sentences})
    tokens, scores, types = build_vocab(words, openers)
    n_vocab, n_words = len(tokens), len(words)
    d = -(-(n_words + 1) // 64) * 64  # one-hot states, padded to a multiple of 64

    # state of each token: its own word, the word an opener stands for, or "start"
    word_state = {w: i for i, w in enumerate(words)}
    word_state.update({o: word_state[SPACE + o] for o in openers})
    state = np.array([word_state.get(tok, n_words) for tok in tokens])
    embd = np.zeros((n_vocab, d), dtype=np.float16)
    embd[np.arange(n_vocab), state] = 1.0

    # RMS norm turns a one-hot vector into e_s / sqrt(1/d + eps); undo that scale
    output = np.zeros((n_vocab, d), dtype=np.float32)
    output[:, : n_words + 1] = bigram_logprobs(sentences, tokens, n_words) * math.sqrt(1 / d + RMS_EPS)

    gguf_path = out_dir / f"{MODEL_NAME}.gguf"
    w = GGUFWriter(str(gguf_path), "llama")
    w.add_name(MODEL_NAME)
    w.add_file_type(LlamaFileType.MOSTLY_F16)
    w.add_context_length(CONTEXT_LENGTH)
    w.add_embedding_length(d)
    w.add_block_count(1)
    w.add_feed_forward_length(FFN_LENGTH)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    ones = np.ones(d, dtype=np.float32)
    to_head = np.zeros((HEAD_DIM, d), dtype=np.float16)
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", output)
    w.add_tensor("blk.0.attn_norm.weight", ones)
    for name in ("attn_q", "attn_k", "attn_v"):
        w.add_tensor(f"blk.0.{name}.weight", to_head)
    w.add_tensor("blk.0.attn_output.weight", to_head.T.copy())  # zero: attention adds nothing
    w.add_tensor("blk.0.ffn_norm.weight", ones)
    w.add_tensor("blk.0.ffn_gate.weight", np.zeros((FFN_LENGTH, d), dtype=np.float16))
    w.add_tensor("blk.0.ffn_up.weight", np.zeros((FFN_LENGTH, d), dtype=np.float16))
    w.add_tensor("blk.0.ffn_down.weight", np.zeros((d, FFN_LENGTH), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    modelfile = out_dir / "Modelfile"
    modelfile.write_text(MODELFILE, encoding="utf-8")
    size_mb = gguf_path.stat().st_size / 1e6
    print(f"wrote {gguf_path} + Modelfile: vocab {n_vocab} ({n_words} words), d {d}, {size_mb:.1f} MB")
    return modelfile


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_model.py OUT_DIR")
    write_model(Path(sys.argv[1]))
