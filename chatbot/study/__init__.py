"""Study with the notes: cards drawn from the indexed passages, each citing its passage, reviewed
on a spaced-repetition schedule.

``cards.py`` makes cards (offline from the notes' own sentences, or written by a loaded model and
checked against the passage); ``deck.py`` keeps them and their FSRS schedule in ``data_dir`` and
follows the index (a card whose passage changed is flagged, one whose note is gone retired);
``check.py`` compares a typed answer with the card's; ``export.py`` writes Anki decks and CSV.
"""
