"""How far the offline token estimate (`langchain_azure_llama._tokens`) is from real Llama 3 counts.

Needs Meta's Llama 3 tokenizer, which is not shipped here (Llama 3 Community License): the
tiktoken BPE file `models/llama3/tokenizer.model` of github.com/meta-llama/llama-models.

    python benchmarks/token_estimate.py path/to/llama3/tokenizer.model [--table N]

Real counts use Meta's tokenizer (tiktoken with Llama 3's split pattern) and chat layout
(`ChatFormat.encode_dialog_prompt`). The estimate's constants were fitted on another corpus (this
repository's markdown and sources, the wire references, Meta's prompt-format pages, the first
120 package METADATA files); the texts measured here are held out: later package METADATA files,
langchain-core's runnables sources; and sentences in nine languages (a row of their own).
Prints the error of a text and of a chat prompt (1 to 4 messages), and of the chars/4 rule
for comparison; `--table N` prints N chats with their real counts, as
tests/langchain/test_tokens.py records them.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import tiktoken
from tiktoken.load import load_tiktoken_bpe

sys.path.insert(0, str(Path(__file__).parents[1]))
from langchain_azure_llama._tokens import TokenCounter

# llama-models `models/llama3/tokenizer.py` `Tokenizer.pat_str`.
PAT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SITE = Path(tiktoken.__file__).parents[1]
SENTENCES = [
    "Le modèle répond en français lorsque la question est posée en français.",
    "Die Antwort kommt gestreamt, Stück für Stück, bis das Modell fertig ist.",
    "¿Cuántos idiomas se hablan en el mundo hoy en día?",
    "O modelo não aceita imagens: apenas texto é enviado ao servidor.",
    "Il servizio restituisce un errore 429 quando si superano i limiti.",
    "Модель отвечает на русском языке, если вопрос задан по-русски.",
    "这个模型可以用中文回答问题，但每个汉字通常需要一个或多个词元。",  # noqa: RUF001
    "このモデルは日本語の質問にも答えることができます。",
    "मॉडल हिंदी में भी उत्तर दे सकता है, लेकिन टोकन अधिक लगते हैं।",
]
ROLES = ["system", "user", "assistant", "user"]


def real_counter(path: str) -> Any:
    ranks = load_tiktoken_bpe(path)
    encoding = tiktoken.Encoding(
        name="llama3", pat_str=PAT, mergeable_ranks=ranks, special_tokens={}
    )

    def count_chat(messages: list[dict[str, str]]) -> int:
        # <|begin_of_text|> + (<|start_header_id|> role <|end_header_id|> "\n\n" text
        # <|eot_id|>) per message + the assistant header.
        total = 1 + 2 + len(encoding.encode("assistant")) + len(encoding.encode("\n\n"))
        for message in messages:
            header = 2 + len(encoding.encode(message["role"])) + len(encoding.encode("\n\n"))
            total += header + len(encoding.encode(message["content"], disallowed_special=())) + 1
        return total

    return encoding, count_chat


def held_out_texts() -> list[str]:
    files = sorted(glob.glob(str(SITE / "*.dist-info" / "METADATA")))[120:]
    files += sorted(glob.glob(str(SITE / "langchain_core" / "runnables" / "*.py")))
    texts: list[str] = []
    for name in files:
        text = Path(name).read_text(encoding="utf-8", errors="replace")
        texts += [p for p in re.split(r"\n\s*\n", text) if 20 <= len(p) <= 4000]
    rng = random.Random(13)
    rng.shuffle(texts)
    return texts[:3000]


def chats(texts: list[str], count: int) -> list[list[dict[str, str]]]:
    rng = random.Random(7)
    made = []
    for _ in range(count):
        size = rng.randint(1, 4)
        roles = ROLES[:size] if size > 1 else ["user"]
        made.append([{"role": r, "content": rng.choice(texts)} for r in roles])
    return made


def relative_errors(estimates: list[Any], reals: list[int]) -> list[float]:
    return [e / r - 1 for e, r in zip(estimates, reals, strict=True)]


def summary(name: str, errors: list[float]) -> str:
    ab = sorted(abs(e) for e in errors)
    at = lambda q: ab[min(len(ab) - 1, int(q * len(ab)))]  # noqa: E731
    return (
        f"| {name} | {len(ab)} | {statistics.mean(ab):.1%} | {at(0.5):.1%} | {at(0.9):.1%} "
        f"| {at(0.95):.1%} | {ab[-1]:.0%} | {statistics.mean(errors):+.1%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tokenizer_model")
    parser.add_argument("--table", type=int, default=0)
    args = parser.parse_args()
    encoding, count_chat = real_counter(args.tokenizer_model)
    counter = TokenCounter(None, "Meta-Llama-3.1-8B-Instruct")
    texts = held_out_texts()
    real_texts = [len(encoding.encode(t, disallowed_special=())) for t in texts]
    conversations = chats(texts, 2000)
    real_chats = [count_chat(c) for c in conversations]
    real_sentences = [len(encoding.encode(t)) for t in SENTENCES]
    rows = [
        ("text, estimate", relative_errors([counter.text(t) for t in texts], real_texts)),
        (
            "text, 9 languages",
            relative_errors([counter.text(t) for t in SENTENCES], real_sentences),
        ),
        ("text, chars/4", relative_errors([len(t) / 4 for t in texts], real_texts)),
        ("chat, estimate", relative_errors([counter.chat(c) for c in conversations], real_chats)),
    ]
    print("| what | n | mean abs error | p50 | p90 | p95 | max | bias |")
    print("|---|---|---|---|---|---|---|---|")
    for name, errs in rows:
        print(summary(name, errs))
    table = chats([t for t in texts if len(t) < 300] + SENTENCES, args.table)
    for chat in table:
        print(json.dumps([chat, count_chat(chat)], ensure_ascii=False))


if __name__ == "__main__":
    main()
