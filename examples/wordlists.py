"""Words of ten languages from Debian's word-list packages, for examples/language_id.py.

Nothing is downloaded: the default directory is where the packages install their
lists (`make demo-rnn` installs the missing ones). The data set is built the same
way on every machine:

1. Each list is read (UTF-8; Debian's Swedish list is ISO-8859-1), NFC-normalised
   and lower-cased. Kept: words of MIN_LEN..MAX_LEN letters (str.isalpha), so
   possessives and elisions ("cat's", "dell'"), hyphenated and dotted entries,
   digits and symbols are dropped.
2. A word found in more than one language's list is dropped from all of them
   ("taxi", "hotel", "post", ...): each word left has exactly one label.
3. Each language's words are put in a fixed order by a hash of the word (CRC-32 of
   its UTF-8 bytes scrambled by SplitMix64, ties by the word): the same on every
   machine, independent of set iteration order and of the other languages.
4. The alphabet of the run: the letters that make up at least 1 in ALPHABET_SHARE
   letters of the first ALPHABET_SAMPLE words of at least one language (so 'ł'
   stays for Polish, a stray 'ñ' in the Dutch list does not). Words with a letter
   outside it are dropped.
5. In that order, a language's first `test_words` words are its test set and the
   next `train_words` its training set: disjoint, and the test set does not change
   with `train_words`. Every language gets the same numbers (balanced classes).
"""
import collections
import itertools
import os
import unicodedata
import zlib

import numpy as np

DEFAULT_DIR = "/usr/share/dict"
# (code, name, Debian package, file under /usr/share/dict): Debian 12 names.
LANGUAGES = (
    ("en", "English", "wamerican", "american-english"),
    ("de", "German", "wngerman", "ngerman"),
    ("fr", "French", "wfrench", "french"),
    ("it", "Italian", "witalian", "italian"),
    ("es", "Spanish", "wspanish", "spanish"),
    ("pt", "Portuguese", "wportuguese", "portuguese"),
    ("nl", "Dutch", "wdutch", "dutch"),
    ("sv", "Swedish", "wswedish", "swedish"),
    ("pl", "Polish", "wpolish", "polish"),
    ("da", "Danish", "wdanish", "danish"),
)
PACKAGES = tuple(pkg for _, _, pkg, _ in LANGUAGES)
MIN_LEN, MAX_LEN = 2, 24
ALPHABET_SHARE = 10_000   # a letter is in the alphabet at 1 in 10,000 letters of a language
ALPHABET_SAMPLE = 20_000  # ... counted in its first 20,000 words in split order
SPLIT_SEED = np.uint64(0x6C616E6769640001)


def read_list(path):
    """The lower-cased, NFC-normalised entries of one word list (a set), kept only
    when they are MIN_LEN..MAX_LEN letters. UTF-8, else ISO-8859-1."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = unicodedata.normalize("NFC", text).lower()
    return {w for w in text.split() if MIN_LEN <= len(w) <= MAX_LEN and w.isalpha()}


def read_lists(data_dir=DEFAULT_DIR, languages=LANGUAGES):
    """{code: set of words} for each language, with a clear error naming the Debian
    package of a missing list."""
    lists = {}
    for code, name, package, filename in languages:
        path = os.path.join(data_dir, filename)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} not found: the {name} word list is in Debian's {package} package "
                f"(sudo apt-get install {package}, or `make demo-rnn` installs it), "
                f"or pass --data DIR with a copy of the file {filename}")
        lists[code] = read_list(path)
    return lists


def split_order(words, chunk=4096):
    """The words of one list in the fixed split order, lazily, as lists of up to about
    `chunk` words: by a 64-bit key (CRC-32 of the UTF-8 bytes, scrambled by SplitMix64
    so that the order has no linear structure), equal keys by the word itself. The
    same on every machine and in every process."""
    words = list(words)
    crc = np.array(list(map(zlib.crc32, map(str.encode, words))), dtype=np.uint64)
    key = _splitmix64(crc ^ SPLIT_SEED)
    order = np.argsort(key, kind="stable")
    key = key[order]
    start = 0
    while start < len(order):
        end = min(start + chunk, len(order))
        while end < len(order) and key[end] == key[end - 1]:  # keep equal keys together
            end += 1
        pairs = zip(key[start:end].tolist(), (words[k] for k in order[start:end].tolist()))
        yield [w for _, w in sorted(pairs)]
        start = end


def _splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class Dataset:
    """The result of build(): per-language word lists and their split.

    train, test: lists of (word, label) with label the index into `languages`;
    alphabet: the run's letters, a string in sorted order; stats: per language,
    entries read, unique to it, in the alphabet."""

    def __init__(self, languages, alphabet, train, test, stats):
        self.languages, self.alphabet = languages, alphabet
        self.train, self.test, self.stats = train, test, stats

    @property
    def names(self):
        return [name for _, name, _, _ in self.languages]


def build(data_dir=DEFAULT_DIR, train_words=40000, test_words=2000, languages=LANGUAGES,
          lists=None):
    """The data set described in the module docstring. When a language has fewer
    than train_words + test_words usable words, every language gets as many
    training words as the smallest has (the test size stays)."""
    lists = read_lists(data_dir, languages) if lists is None else lists
    codes = [code for code, _, _, _ in languages]
    wanted = test_words + train_words

    # Each language's words unique to it, in split order, examined lazily: only as
    # many as needed are looked up in the other lists.
    def unique_words(code):
        others = [lists[c] for c in codes if c != code]
        for chunk in split_order(lists[code]):
            shared = set().union(*(other.intersection(chunk) for other in others))
            yield from (w for w in chunk if w not in shared)

    streams = {code: unique_words(code) for code in codes}
    head = {code: list(itertools.islice(streams[code], max(ALPHABET_SAMPLE, wanted)))
            for code in codes}
    alphabet = set()
    for code in codes:
        letters = collections.Counter("".join(head[code][:ALPHABET_SAMPLE]))
        total = sum(letters.values())
        alphabet.update(c for c, n in letters.items() if n * ALPHABET_SHARE >= total)
    alphabet = "".join(sorted(alphabet))
    allowed = set(alphabet)

    usable, stats = {}, {}
    for code in codes:
        words = [w for w in head[code] if allowed.issuperset(w)][:wanted]
        for w in streams[code]:  # replace the words dropped for their letters
            if len(words) >= wanted:
                break
            if allowed.issuperset(w):
                words.append(w)
        usable[code] = words
        stats[code] = {"read": len(lists[code]), "used": len(words)}
    smallest = min(len(words) for words in usable.values())
    if smallest <= test_words:
        raise ValueError(f"a language has only {smallest} usable words: not more than the "
                         f"{test_words} test words asked for")
    train_words = min(train_words, smallest - test_words)
    train, test = [], []
    for label, code in enumerate(codes):
        test += [(w, label) for w in usable[code][:test_words]]
        train += [(w, label) for w in usable[code][test_words:test_words + train_words]]
    return Dataset(languages, alphabet, train, test, stats)
