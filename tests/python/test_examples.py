"""The training demo and its Fashion-MNIST loader."""
import gzip
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
import fashion_mnist  # noqa: E402


def write_idx(path, array, compress):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("compress", [False, True])
def test_loader_reads_generated_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28))
    labels = rng.integers(0, 10, size=7)
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress)
    x, y = fashion_mnist.load(str(tmp_path), "test")
    assert x.shape == (7, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_loader_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist.load(str(tmp_path), "train")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 2, 2)), False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2), False)
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        fashion_mnist.load(str(tmp_path), "test")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        fashion_mnist.read_idx(str(tmp_path / "bad"))


@pytest.mark.skipif(not pathlib.Path(fashion_mnist.DEFAULT_DIR).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_mlp_demo_trains_on_real_data():
    pytest.importorskip("torch")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "mlp_fashion_mnist.py"), "--epochs", "1",
         "--limit", "6000", "--compare"],
        check=True, capture_output=True, text=True, timeout=300).stdout
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", last)
    assert match, out
    # 188 SGD steps: far above chance (10%) when forward and backward are right.
    assert float(match.group(1)) > 60.0, out
    torch_acc = float(re.search(r"torch.nn:  test accuracy (\d+\.\d\d)%", out).group(1))
    # Same seed, same initial weights, same batches: the two runs agree closely.
    assert abs(float(match.group(1)) - torch_acc) < 2.0, out


@pytest.mark.skipif(not pathlib.Path(fashion_mnist.DEFAULT_DIR).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_lenet_demo_trains_checkpoints_resumes_and_plots(tmp_path):
    torch = pytest.importorskip("torch")
    from pykernels.torch.models import lenet5
    script = str(EXAMPLES / "lenet_fashion_mnist.py")
    ckpt, png = tmp_path / "lenet.pt", tmp_path / "curves.png"
    common = ["--limit", "3000", "--threads", "2", "--plot", str(png)]
    out = subprocess.run([sys.executable, script, "--epochs", "1", "--compare", "--save", str(ckpt),
                          *common], check=True, capture_output=True, text=True, timeout=600).stdout
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", last)
    assert match, out
    # 47 Adam steps of LeNet-5: far above chance (10%) when every layer is right.
    assert float(match.group(1)) > 60.0, out
    torch_acc = float(re.search(r"torch.nn:  test accuracy (\d+\.\d\d)%", out).group(1))
    # Same seed, same initial weights, same batches: the two runs agree closely.
    assert abs(float(match.group(1)) - torch_acc) < 3.0, out
    assert re.search(r"time ratio pykernels/torch: \d+\.\d\d", out), out
    assert re.search(r"epoch 1: train loss \d+\.\d+  test loss \d+\.\d+  test accuracy", out), out
    assert png.stat().st_size > 1000

    # The checkpoint's weights load into the identical torch.nn model, and predict the same.
    state = torch.load(ckpt, weights_only=False)
    assert state["epoch"] == 1
    reference = lenet5(torch.nn)
    reference.load_state_dict(state["model"])
    ours = lenet5()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)

    # Resume: continues with epoch 2 from the saved state.
    out = subprocess.run([sys.executable, script, "--epochs", "2", "--resume", str(ckpt), *common],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    assert "resumed from" in out and "epoch 2:" in out and "epoch 1:" not in out, out
    assert re.fullmatch(r"test accuracy \d+\.\d\d%", out.strip().splitlines()[-1]), out


# ---------------------------------------------------------------- the language-id demo

import wordlists  # noqa: E402

ENDINGS = {"en": "ness", "de": "ung", "fr": "eux", "it": "zione", "es": "ción", "pt": "ção",
           "nl": "ijk", "sv": "ska", "pl": "ów", "da": "hed"}


def write_word_lists(directory, per_language=260):
    """Small lists under Debian's file names: words made of random syllables and a
    language's own ending (learnable), plus entries the loader must drop or fix."""
    import random
    rng = random.Random(0)
    for code, _, _, filename in wordlists.LANGUAGES:
        words = set()
        while len(words) < per_language:
            stem = "".join(rng.choice("bdfgklmnprst") + rng.choice("aeiou")
                           for _ in range(rng.randint(1, 3)))
            words.add(stem + ENDINGS[code])
        extra = ["taxi", "Hotel", "cat's", "x-ray", "a", "q2"]  # shared / dropped
        encoding = "latin-1" if code == "sv" else "utf-8"       # as Debian's Swedish list
        (directory / filename).write_bytes("\n".join(sorted(words) + extra).encode(encoding))


def test_word_lists_are_cleaned_deduplicated_and_split_the_same_way(tmp_path):
    write_word_lists(tmp_path)
    with open(tmp_path / "swedish", "ab") as f:
        f.write("\nSäng\n".encode("latin-1"))
    assert {"säng", "hotel", "taxi"} <= wordlists.read_list(str(tmp_path / "swedish"))
    data = wordlists.build(str(tmp_path), train_words=200, test_words=50)
    train, test = dict(data.train), dict(data.test)
    assert len(data.train) == 10 * 200 and len(data.test) == 10 * 50
    assert [label for _, label in data.test].count(3) == 50          # balanced
    assert not set(train) & set(test)                                # disjoint
    # Shared by every list ("taxi", "hotel"), not letters only, or too short: dropped.
    assert not {"taxi", "hotel", "cat's", "x-ray", "a", "q2"} & (set(train) | set(test))
    assert all(w.endswith(ENDINGS[wordlists.LANGUAGES[label][0]]) or w == "säng"
               for w, label in data.train + data.test)
    assert set("abdefgiklmnoprstuzçãów") <= set(data.alphabet)
    # The same split from a fresh read; a smaller training set is the start of the
    # larger one and the test set does not change.
    again = wordlists.build(str(tmp_path), train_words=100, test_words=50)
    assert again.test == data.test
    assert again.train == [p for label in range(10)
                           for p in [q for q in data.train if q[1] == label][:100]]


def test_word_lists_missing_name_their_package(tmp_path):
    write_word_lists(tmp_path)
    (tmp_path / "polish").unlink()
    with pytest.raises(FileNotFoundError, match="wpolish"):
        wordlists.build(str(tmp_path))


def test_makefile_installs_the_word_lists():
    makefile = (EXAMPLES.parent / "Makefile").read_text()
    line = re.search(r"^WORDLIST_PKGS := ((?:.*\\\n)*.*)$", makefile, flags=re.M).group(1)
    assert line.replace("\\\n", " ").split() == list(wordlists.PACKAGES)
    assert "$(WORDLIST_PKGS)" in re.search(r"^APT_PKGS  :=(?:.*\\\n)*.*$", makefile, flags=re.M).group(0)


def test_language_id_demo_trains_saves_plots_and_predicts(tmp_path):
    """A tiny run of examples/language_id.py on generated lists, on pykernels' Embedding,
    LSTM, Linear and cross_entropy (and the torch.nn twin with --compare)."""
    torch = pytest.importorskip("torch")
    write_word_lists(tmp_path)
    script = str(EXAMPLES / "language_id.py")
    ckpt, curves, confusion = tmp_path / "lid.pt", tmp_path / "curves.png", tmp_path / "cm.png"
    common = ["--data", str(tmp_path), "--words", "200", "--test-words", "50", "--embed", "16",
              "--hidden", "32", "--batch-size", "32", "--threads", "2"]
    out = subprocess.run([sys.executable, script, *common, "--epochs", "2", "--packed",
                          "--compare", "--save", str(ckpt), "--plot", str(curves),
                          "--confusion", str(confusion), "--predict", "bamizione"],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", out.strip().splitlines()[-1])
    assert match, out
    # 126 Adam steps on words that end in their language's suffix: far above chance (10%).
    assert float(match.group(1)) > 50.0, out
    assert re.search(r"epoch 2: train loss \d+\.\d+  test loss \d+\.\d+  test accuracy", out), out
    assert re.search(r"torch.nn:  test accuracy \d+\.\d\d%, \d+\.\d\d s/epoch", out), out
    assert re.search(r"time ratio \w+/torch: \d+\.\d\d", out), out
    assert re.search(r"^bamizione: Italian \d+\.\d%, \w+ \d+\.\d%, \w+ \d+\.\d%$", out, re.M), out
    assert curves.stat().st_size > 1000 and confusion.stat().st_size > 1000

    # The checkpoint's weights load into the torch.nn model and predict the same.
    sys.path.insert(0, str(EXAMPLES))
    import language_id
    state = torch.load(ckpt, weights_only=False)
    assert state["epoch"] == 2 and len(state["languages"]) == 10
    reference = language_id.build_model(torch.nn, state["config"])
    reference.load_state_dict(state["model"])
    letters = torch.randint(2, state["config"]["vocab"], (3, 7))
    reference.eval()
    assert reference(letters).shape == (3, 10)

    # --resume --predict: the saved model, no training.
    out = subprocess.run([sys.executable, script, "--resume", str(ckpt), "--predict", "lomabung",
                          "xyz"], check=True, capture_output=True, text=True, timeout=120).stdout
    assert "epoch 1:" not in out and re.search(r"^lomabung: German \d+\.\d%", out, re.M), out
    assert re.fullmatch(r"test accuracy \d+\.\d\d%", out.strip().splitlines()[-1]), out


# ---------------------------------------------------------------- the ResNet demo

@pytest.mark.skipif(not pathlib.Path(fashion_mnist.DEFAULT_DIR).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_resnet_demo_trains_checkpoints_resumes_and_plots(tmp_path):
    """A small, short run of examples/resnet_fashion_mnist.py (every layer on pykernels,
    BatchNorm included) against its torch twin, then a resume."""
    torch = pytest.importorskip("torch")
    from pykernels.torch.models import resnet_small
    script = str(EXAMPLES / "resnet_fashion_mnist.py")
    ckpt, png = tmp_path / "resnet.pt", tmp_path / "curves.png"
    common = ["--limit", "3000", "--threads", "2", "--widths", "8,16,16", "--plot", str(png)]
    out = subprocess.run([sys.executable, script, "--epochs", "2", "--compare", "--save", str(ckpt),
                          *common], check=True, capture_output=True, text=True, timeout=600).stdout
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", last)
    assert match, out
    # 48 SGD steps with augmentation (about 55%): far above chance (10%) when every layer is right.
    assert float(match.group(1)) > 40.0, out
    torch_acc = float(re.search(r"torch.nn:  test accuracy (\d+\.\d\d)%", out).group(1))
    # Same seed, same initial weights, same batches and crops: the runs agree closely.
    assert abs(float(match.group(1)) - torch_acc) < 5.0, out
    assert re.search(r"time ratio pykernels/torch: \d+\.\d\d", out), out
    assert png.stat().st_size > 1000

    # The checkpoint (BatchNorm's buffers included) loads into the torch twin.
    state = torch.load(ckpt, weights_only=False)
    assert state["epoch"] == 2 and "1.running_var" in state["model"]
    assert any(k.endswith("num_batches_tracked") for k in state["model"])
    reference = resnet_small(torch.nn, widths=(8, 16, 16))
    reference.load_state_dict(state["model"])
    ours = resnet_small(widths=(8, 16, 16))
    ours.load_state_dict(reference.state_dict())
    ours.eval()
    reference.eval()
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-4, atol=1e-4)

    out = subprocess.run([sys.executable, script, "--epochs", "3", "--resume", str(ckpt), *common],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    assert "resumed from" in out and "epoch 3:" in out and "epoch 2:" not in out, out
    assert re.fullmatch(r"test accuracy \d+\.\d\d%", out.strip().splitlines()[-1]), out


def test_augment_crops_and_flips_with_tensor_ops():
    torch = pytest.importorskip("torch")
    import resnet_fashion_mnist as demo
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    gen = torch.Generator().manual_seed(0)
    out = demo.augment(x, -1.0, 1, gen)
    assert out.shape == x.shape
    gen = torch.Generator().manual_seed(0)
    offsets = torch.randint(0, 3, (2, 2), generator=gen)
    flip = torch.rand(2, generator=gen) < 0.5
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), value=-1.0)
    for i in range(2):
        r, c = offsets[0, i].item(), offsets[1, i].item()
        expect = padded[i, 0, r:r + 4, c:c + 4]
        if flip[i]:
            # the flip mirrors the source columns, then the crop offset applies
            cols = torch.arange(3, -1, -1) + c
            expect = padded[i, 0, r:r + 4][:, cols]
        torch.testing.assert_close(out[i, 0], expect)
    assert demo.augment(x, 0.0, 0, torch.Generator().manual_seed(1)).abs().sum() > 0


# ---------------------------------------------------------------- the char GPT demo

FORTUNES_DIR = "/usr/share/games/fortunes"  # char_gpt.DEFAULT_DIR (char_gpt imports torch)


def _char_gpt():
    pytest.importorskip("torch")
    import char_gpt
    assert char_gpt.DEFAULT_DIR == FORTUNES_DIR
    return char_gpt


def write_fortunes(directory, count=40):
    """Two small strfile sources under Debian's names, with what the loader must clean:
    overstruck (underlined, bold) letters, a bell, trailing blanks, an empty fortune."""
    fortunes = [f"Fortune number {i} says?\n\tnothing {i % 7} times.  " for i in range(count)]
    fortunes[0] = "_\bU_\bn_\bd_\be_\br_\bl_\bi_\bn_\be_\bd and b\bbo\bol\bld\bd\a."
    half = count // 2
    (directory / "computers").write_text("\n%\n".join(fortunes[:half]) + "\n%\n\n%\n")
    (directory / "zippy").write_text("\n%\n".join(fortunes[half:]) + "\n%\n")
    (directory / "zippy.dat").write_bytes(b"\x00\x02binary")  # index files are not read
    return fortunes


def test_fortunes_are_cleaned_and_split_the_same_way(tmp_path):
    char_gpt = _char_gpt()
    write_fortunes(tmp_path)
    got = char_gpt.read_collection(str(tmp_path / "computers"))
    assert got[0] == "Underlined and bold." and len(got) == 20
    assert got[1] == "Fortune number 1 says?\n\tnothing 1 times."
    corpus = char_gpt.Corpus(str(tmp_path))
    assert corpus.files == ["computers", "zippy"] and corpus.fortunes == 40
    # every tenth fortune (9, 19, 29, 39) is validation, each ending with a % line
    assert corpus.val_text == "".join(f"Fortune number {i} says?\n\tnothing {i % 7} times.\n%\n"
                                      for i in (9, 19, 29, 39))
    assert corpus.train_text.startswith("Underlined and bold.\n%\nFortune number 1 says?")
    assert "Fortune number 9 " not in corpus.train_text
    assert len(corpus.train) == len(corpus.train_text) and str(corpus.train.dtype) == "torch.int64"
    assert corpus.decode(corpus.train.tolist()) == corpus.train_text
    assert corpus.vocab == "".join(sorted(set(corpus.train_text + corpus.val_text)))
    assert "\a" not in corpus.vocab and "\b" not in corpus.vocab
    again = char_gpt.Corpus(str(tmp_path))
    assert again.train_text == corpus.train_text and again.vocab == corpus.vocab
    assert corpus.decode(corpus.encode("?Zq!").tolist()) == "????"  # not in the vocabulary
    with pytest.raises(ValueError, match="not in the vocabulary: 'Zq'"):
        corpus.encode("Zq", strict=True)
    with pytest.raises(FileNotFoundError, match="'fortunes' package"):
        char_gpt.Corpus(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="no fortune collection"):
        char_gpt.Corpus(str(tmp_path), collections=("pratchett",))


def test_makefile_installs_the_fortunes():
    char_gpt = _char_gpt()
    makefile = (EXAMPLES.parent / "Makefile").read_text()
    assert re.search(r"^FORTUNE_PKGS := fortunes$", makefile, flags=re.M)
    assert char_gpt.PACKAGE == "fortunes"
    assert "$(FORTUNE_PKGS)" in re.search(r"^APT_PKGS  :=(?:.*\\\n)*.*$", makefile, flags=re.M).group(0)
    assert re.search(r"^demo-gpt: setup pyinstall\n\t\$\(PY\) examples/char_gpt.py \$\(ARGS\)$",
                     makefile, flags=re.M)


@pytest.mark.skipif(not pathlib.Path(FORTUNES_DIR, "computers").is_file(),
                    reason="Debian's fortunes package is not installed")
def test_char_gpt_demo_trains_compares_checkpoints_resumes_and_samples(tmp_path):
    """A tiny, short run of examples/char_gpt.py on the real fortunes (every layer, the
    attention and the loss on pykernels) against its torch twin, then a resume."""
    torch = pytest.importorskip("torch")
    _char_gpt()
    from pykernels.torch.models import GPT, GPTConfig
    script = str(EXAMPLES / "char_gpt.py")
    ckpt, png = tmp_path / "gpt.pt", tmp_path / "curves.png"
    common = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "32",
              "--batch-size", "8", "--eval-interval", "15", "--eval-batches", "4", "--lr", "1e-2",
              "--warmup", "5", "--threads", "2", "--plot", str(png), "--sample-chars", "60",
              "--prompt", "The ", "--top-k", "10"]
    out = subprocess.run([sys.executable, script, *common, "--steps", "30", "--compare",
                          "--save", str(ckpt)],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    match = re.fullmatch(r"val loss (\d+\.\d{4})", out.strip().splitlines()[-1])
    assert match, out
    # 30 steps from ln(vocab) ~ 4.6: well below it when forward and backward are right
    assert float(match.group(1)) < 3.6, out
    assert re.search(r"\[pykernels\] step 15: train loss \d+\.\d+  val loss \d+\.\d+", out), out
    torch_loss = float(re.search(r"torch:     val loss (\d+\.\d+)", out).group(1))
    # same seed, same initial weights, same windows: the runs agree closely
    assert abs(float(match.group(1)) - torch_loss) < 0.02 * torch_loss, out
    assert re.search(r"^\s+30\s+\d+\.\d{4}\s+\d+\.\d{4}\s+[+-]\d+\.\d\d%$", out, re.M), out
    assert re.search(r"time ratio pykernels/torch: \d+\.\d\d", out), out
    sample = out.split("--- sample")[1].split("\n---\n")[0].split("\n", 1)[1]
    assert sample.startswith("The ") and len(sample) == 64, out
    assert png.stat().st_size > 1000

    # The checkpoint loads into the torch twin, which then gives the same logits.
    state = torch.load(ckpt, weights_only=False)
    assert state["step"] == 30 and state["history"]["step"] == [15, 30]
    config = GPTConfig(**state["config"])
    reference = GPT(config, torch.nn)
    reference.load_state_dict(state["model"])
    ours = GPT(config)
    ours.load_state_dict(reference.state_dict())
    idx = torch.randint(config.vocab_size, (2, 32))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx, idx)[0], reference(idx, idx)[0], rtol=1e-4, atol=1e-4)

    # Resume: continues with steps 31-45; then --steps 45 again only samples, the same text.
    common += ["--resume", str(ckpt), "--steps", "45", "--save", str(ckpt)]
    out = subprocess.run([sys.executable, script, *common],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    assert "resumed from" in out and "step 45:" in out and "step 30:" not in out, out
    again = subprocess.run([sys.executable, script, *common],
                           check=True, capture_output=True, text=True, timeout=600).stdout
    assert "step 45:" not in again and "(step 45)" in again, again

    def sample_of(text):
        return text.split("--- sample")[1].split("\n---\n")[0]
    assert sample_of(again) == sample_of(out)  # --seed fixes the sample
    assert again.strip().splitlines()[-1] == out.strip().splitlines()[-1]


def test_char_gpt_default_config_is_the_command_line_default():
    """benchmarks/bench.py times char_gpt.default_config() with char_gpt.DEFAULT_BATCH."""
    char_gpt = _char_gpt()
    config, args = char_gpt.default_config(96), char_gpt.parse_args([])
    assert config.vocab_size == 96 and args.batch_size == char_gpt.DEFAULT_BATCH
    assert all(getattr(config, k) == getattr(args, k) for k in char_gpt.MODEL_ARGS)


# ---------------------------------------------------------------- the JAX LeNet demo

@pytest.mark.skipif(not pathlib.Path(fashion_mnist.DEFAULT_DIR).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_lenet_jax_demo_trains_like_its_pure_jax_twin(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("pykernels.jax")
    png = tmp_path / "curves.png"
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "lenet_jax.py"), "--epochs", "1", "--limit", "6000",
         "--compare", "--plot", str(png)],
        check=True, capture_output=True, text=True, timeout=600).stdout
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", last)
    assert match, out
    # 94 Adam steps of LeNet: far above chance (10%) when forward and backward are right.
    assert float(match.group(1)) > 60.0, out
    jax_acc = float(re.search(r"pure JAX:\s+test accuracy (\d+\.\d\d)%", out).group(1))
    # Same key, same initial weights, same batches: the twins agree closely.
    assert abs(float(match.group(1)) - jax_acc) < 2.0, out
    assert re.search(r"step time ratio pykernels/jax: \d+\.\d\d", out), out
    assert png.stat().st_size > 0


def test_demo_jax_is_a_make_target():
    makefile = (EXAMPLES.parent / "Makefile").read_text()
    assert re.search(r"^demo-jax: setup pyinstall\n\t\$\(PY\) examples/lenet_jax.py \$\(ARGS\)$",
                     makefile, flags=re.M)


def test_load_standardised_uses_the_training_sets_statistics(tmp_path):
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 9), ("t10k", 4)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, size=(n, 28, 28)), False)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, size=n), False)
    (x, y), (xt, yt) = fashion_mnist.load_standardised(str(tmp_path), limit=6)
    raw, _ = fashion_mnist.load(str(tmp_path), "train")
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32 and y.shape == (6,)
    assert xt.shape == (4, 1, 28, 28) and yt.dtype == np.int64
    np.testing.assert_allclose(x[:, 0], (raw[:6] - raw[:6].mean()) / raw[:6].std(), rtol=1e-5, atol=1e-5)
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-4
