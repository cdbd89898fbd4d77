"""Expected token ids for the CLIP BPE tokenizer test (tests/models/tokenizer).

A pure-Python re-implementation of openai/CLIP clip/simple_tokenizer.py
(which HF CLIPTokenizer follows), reading the Hugging Face vocab.json +
merges.txt pair. Debian 12 has neither `regex` nor `ftfy`, so:

  * the pre-tokenizer pattern is CLIP's, with \\p{L} and \\p{N} spelled out as
    explicit character classes built from unicodedata categories (L*, N*) and
    compiled with the standard `re` module (case-insensitive literals, see
    PATTERN);
  * ftfy.fix_text is replaced by what every variant without heuristics
    agrees on: removal of the control characters ftfy's remove_control_chars
    drops (U+0000-0008, 000B, 000E-001F, 007F, 206A-206F, FEFF, FFF9-FFFC)
    followed by NFC. Then CLIP's own steps: html.unescape twice, strip,
    whitespace collapse, str.lower().

The C implementation (core/models/tokenizer/) is written separately; this
script only produces the constants pasted into test_tokenizer.c. It needs no
torch. Run from the repository root:

    /usr/bin/python3 tests/reference/tokenizer.py [VOCAB_DIR]

VOCAB_DIR defaults to ../shared/data/clip-tokenizer. It prints one C array
per prompt (ids without BOS/EOS/padding) and the full 77 ids of the long
prompt.
"""
import html
import json
import os
import re
import sys
import unicodedata

PROMPTS = [
    ("astronaut", "a photo of an astronaut riding a horse on mars"),
    ("its_2024", "It's 2024!!"),
    ("entities", "&amp;lt; &amp;amp; &quot;x&quot; &#39;y&#x27; &eacute;t&eacute; &notit; &copy2024"),
    ("whitespace", "  hello \t\n  world\u00a0\u3000again  "),
    ("upper", "A PHOTO OF A CAT, HDR, 8K"),
    ("non_ascii", "caf\u00e9 na\u00efve \u65e5\u672c"),
    ("decomposed", "cafe\u0301 \u0130stanbul \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03a3"),
    ("emoji", "a cat \U0001F431 with a hat \U0001F3A9\u2728 \U0001F468\u200D\U0001F469\u200D\U0001F467"),
    ("contractions", "we're they've I'm you'll he'd don't 'sup ''s"),
    ("punct", "hello!!! ... (best quality:1.2), [masterpiece] {x}--y"),
    ("digits", "1234567890 3.14 \u0661\u0662 \u00bd \u2167"),
    ("special", "<|startoftext|>hi<|endoftext|> <|ENDOFTEXT|>"),
    ("controls", "a\u0001b\u0007c\ufeffd \u200bx\u00ady"),
    ("empty", ""),
]

LONG_PROMPT = ("a highly detailed portrait of an old sea captain with a white beard, wearing a navy coat, "
               "standing on the deck of a wooden ship during a storm at night, lightning in the sky, "
               "waves crashing, dramatic lighting, oil painting by a renowned artist, trending on "
               "artstation, 8k, ultra realistic, cinematic composition, volumetric fog, sharp focus, "
               "highly intricate details, golden hour, masterpiece, best quality, award winning photograph")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def category_class(prefix):
    """A regex character class body matching every code point whose Unicode
    category starts with @prefix ("L" or "N")."""
    ranges = []
    start = None
    for cp in range(0x110000):
        inside = unicodedata.category(chr(cp)).startswith(prefix)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    return "".join("\\U%08x-\\U%08x" % r if r[0] != r[1] else "\\U%08x" % r[0] for r in ranges)


LETTER = category_class("L")
NUMBER = category_class("N")
# IGNORECASE is scoped to the literal alternatives: with the flag on the
# classes, `re` would also match a character whose case variants are in the
# class, which only changes U+0345 (combining ypogegrammeni, Mn, whose upper
# case is the letter U+0399). How the `regex` module treats U+0345 depends on
# how it compiles the sets (a one-item set becomes a plain property test);
# the C code treats it as the Mn character it is.
PATTERN = re.compile(
    r"(?i:<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d)|[" + LETTER + "]+|[" + NUMBER + "]|[^\\s" +
    LETTER + NUMBER + "]+")

FTFY_CONTROLS = dict.fromkeys(list(range(0x00, 0x09)) + [0x0B] + list(range(0x0E, 0x20)) + [0x7F] +
                              list(range(0x206A, 0x2070)) + [0xFEFF] + list(range(0xFFF9, 0xFFFD)))


def clean(text):
    text = unicodedata.normalize("NFC", text.translate(FTFY_CONTROLS))  # in place of ftfy.fix_text
    text = html.unescape(html.unescape(text)).strip()                    # basic_clean
    text = re.sub(r"\s+", " ", text).strip()                             # whitespace_clean
    return text.lower()


class Tokenizer:
    def __init__(self, directory):
        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            merges = f.read().strip().split("\n")[1:]
        self.ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.bos = self.encoder["<|startoftext|>"]
        self.eos = self.encoder["<|endoftext|>"]

    def bpe(self, token):
        # clip/simple_tokenizer.py SimpleTokenizer.bpe
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = set(zip(word, word[1:]))
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = set(zip(word, word[1:]))
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode_raw(self, text):
        ids = []
        for token in PATTERN.findall(clean(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def encode(self, text, length=77):
        ids = [self.bos] + self.encode_raw(text)[:length - 2] + [self.eos]
        return ids + [self.eos] * (length - len(ids))


def c_array(name, ids):
    body = ", ".join(str(i) for i in ids)
    return "static const int64_t %s[] = { %s };" % (name, body) if ids else \
        "static const int64_t %s[] = { -1 }; /* no tokens */" % name


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "data", "clip-tokenizer")
    tok = Tokenizer(directory)
    for name, text in PROMPTS:
        print("/* %s */" % ascii(text))
        print(c_array("expect_" + name, tok.encode_raw(text)))
    raw = tok.encode_raw(LONG_PROMPT)
    print("/* long prompt: %d tokens before truncation */" % len(raw))
    print(c_array("expect_long", tok.encode(LONG_PROMPT)))


if __name__ == "__main__":
    main()
