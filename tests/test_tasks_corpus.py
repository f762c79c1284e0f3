"""seqnotes.tasks.corpus: the Korean corpus, the vocabulary, batches and windows."""

from __future__ import annotations

import pytest
import torch

from seqnotes.tasks.corpus import (
    CharVocab,
    clean_text,
    corpus_files,
    lm_batches,
    lm_windows,
    load_documents,
    train_val_split,
)


def test_corpus_ships_with_konlpy() -> None:
    assert [p.name for p in corpus_files("kolaw")] == ["constitution.txt"]
    assert len(corpus_files("kobill")) == 10
    assert len(corpus_files("all")) == 11
    raw = load_documents("kolaw", clean=False)[0]
    assert raw.startswith("대한민국헌법") and len(raw) == 18884
    with pytest.raises(ValueError, match="one of"):
        corpus_files("wiki")


def test_clean_text_drops_rules_and_extra_spaces() -> None:
    assert (
        clean_text("제1조  대한민국은\n\n-----\n  민주공화국이다.  \n") == "제1조 대한민국은\n민주공화국이다."
    )


def test_train_val_split_keeps_every_document_in_both_parts() -> None:
    docs = ["가나다\n라마바\n사아자\n차카타\n파하", "ABC\nDEF\nGHI\nJKL\nMNO"]
    train, val = train_val_split(docs, val_fraction=0.3)
    assert train.startswith("가나다") and "ABC" in train
    assert "파하" in val and "MNO" in val
    assert set((train + val).replace("\n", "")) == set("".join(docs).replace("\n", ""))
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        train_val_split(docs, val_fraction=1.0)
    with pytest.raises(ValueError, match="non-empty"):
        train_val_split([])


def test_char_vocab_round_trip_and_unknown() -> None:
    vocab = CharVocab.from_text("헌법 제1조")
    assert len(vocab) == 7  # 6 distinct characters + <unk>
    ids = vocab.encode("제1조 헌법")
    assert ids.dtype == torch.long and vocab.decode(ids) == "제1조 헌법"
    assert vocab.encode("법률")[1].item() == CharVocab.unk_id
    assert vocab.decode(vocab.encode("법률")) == "법" + CharVocab.UNK_CHAR
    assert vocab.count_unknown("법률안") == 2
    assert CharVocab("ba").itos == CharVocab("ab").itos  # order-independent
    with pytest.raises(ValueError, match="out of range"):
        vocab.decode([99])
    with pytest.raises(ValueError, match=r"\(T,\)"):
        vocab.decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError):
        vocab.encode(3)  # type: ignore[arg-type]


def test_lm_batches_are_shifted_and_reproducible() -> None:
    ids = torch.arange(50)
    get = lm_batches(ids, block_size=8, batch_size=4, generator=torch.Generator().manual_seed(0))
    x, y = get(0)
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)
    again = lm_batches(ids, 8, 4, torch.Generator().manual_seed(0))(0)
    assert torch.equal(again[0], x)
    with pytest.raises(ValueError, match="at least block_size"):
        lm_batches(torch.arange(5), 8, 4, torch.Generator())
    with pytest.raises(TypeError, match="dtype torch.int64"):
        lm_batches(torch.arange(50.0), 8, 4, torch.Generator())


def test_lm_windows_predict_every_symbol_once() -> None:
    x, y = lm_windows(torch.arange(21), block_size=5)
    assert x.shape == (4, 5)
    assert torch.equal(y.flatten(), torch.arange(1, 21))


def test_min_count_maps_rare_characters_to_unk() -> None:
    from seqnotes.tasks.corpus import CharVocab

    vocab = CharVocab.from_text("aab", min_count=2)
    assert vocab.itos == ["<unk>", "a"]
    assert vocab.encode("ab").tolist() == [1, vocab.unk_id]
    with pytest.raises(ValueError, match="min_count"):
        CharVocab.from_text("aab", min_count=0)
    with pytest.raises(ValueError, match="occurs 3 or more"):
        CharVocab.from_text("aab", min_count=3)


def test_char_corpus_is_the_shared_split() -> None:
    from seqnotes.tasks.corpus import char_corpus

    corpus = char_corpus()
    assert corpus.train_ids.shape == (len(corpus.train),) and corpus.val_ids.shape == (len(corpus.val),)
    unk = corpus.vocab.unk_id
    assert (corpus.train_ids == unk).any()  # training hapaxes are <unk>: every model learns it
    counts = {ch: corpus.train.count(ch) for ch in set(corpus.train)}
    assert all(n >= 2 for ch, n in counts.items() if ch in corpus.vocab)
