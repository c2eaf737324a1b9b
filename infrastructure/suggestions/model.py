"""The model: character n-grams of title and description, a logistic regression per field.

Character n-grams (`char_wb`, 1 to 3 characters) read English and Chinese alike without a word
segmenter: 打印机 shares 打印 with 打印纸 as "printer" shares "print" with "printing". Each field
(type, group, priority) gets its own logistic regression (one-vs-rest, fitted by stochastic gradient
descent) over the same features;
its `predict_proba` is the confidence a suggestion carries. Everything is computed here, from the
tenant's own tickets: nothing is downloaded and nothing leaves the machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.suggestions.rules import FIELDS

# scikit-learn is imported where it is used, not with this module: importing it takes seconds, which every
# process (the API's included) would otherwise spend at start-up, before it answers a health check.

#: The share of a tenant's tickets held out to measure precision and recall.
HOLDOUT = 0.2
SEED = 7  # the holdout split is the same on every run over the same tickets


@dataclass(frozen=True, slots=True)
class Example:
    """One solved ticket as the model learns from it: its words, and the field values it ended with."""

    text: str
    labels: Mapping[str, str | None]  # field -> value (None: the ticket had none, so it teaches nothing of it)


@dataclass
class FieldModel:
    """What predicts one field, and how it did on the held-out tickets."""

    classifier: Any  # a fitted LogisticRegression (scikit-learn ships no type information)
    report: dict[str, Any]  # sklearn's classification_report(output_dict=True) on the holdout
    trained_on: int


@dataclass
class TenantModel:
    """A tenant's model: the shared features and one classifier per field it could learn."""

    vectorizer: Any  # a fitted TfidfVectorizer
    fields: dict[str, FieldModel] = field(default_factory=dict)

    def predict(self, text: str) -> dict[str, tuple[str, float]]:
        """For each field learned: the likeliest value and its probability."""
        features = self.vectorizer.transform([text])
        found: dict[str, tuple[str, float]] = {}
        for name, model in self.fields.items():
            probabilities = model.classifier.predict_proba(features)[0]
            best = int(probabilities.argmax())
            found[name] = (str(model.classifier.classes_[best]), float(probabilities[best]))
        return found

    def reports(self) -> dict[str, dict[str, Any]]:
        """Each field's holdout report."""
        return {name: model.report for name, model in self.fields.items()}


def text_of(title: str, description: str) -> str:
    """What the model reads of a ticket."""
    return f"{title}\n{description}".strip()


def vectorizer() -> Any:
    """The features: TF-IDF of character 1- to 3-grams within word boundaries, lowercased."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 -- see the note above

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2, max_features=100_000)


def train(examples: Sequence[Example]) -> TenantModel:
    """Fit a tenant's model; each field's report comes from a stratified holdout, then it is refit on all tickets."""
    features = vectorizer().fit([e.text for e in examples])
    model = TenantModel(features)
    for name in FIELDS:
        labelled = [(e.text, e.labels[name]) for e in examples if e.labels.get(name)]
        if len({label for _, label in labelled}) < 2:
            continue
        texts, labels = [t for t, _ in labelled], [str(label) for _, label in labelled]
        model.fields[name] = FieldModel(
            classifier=_fit(features.transform(texts), labels),
            report=_holdout_report(features, texts, labels),
            trained_on=len(labelled),
        )
    return model


def _fit(matrix: Any, labels: Sequence[str]) -> Any:
    # Logistic regression fitted by stochastic gradient descent: the log loss makes `predict_proba` a
    # probability, and it fits 5,000 tickets in a fraction of a second where lbfgs takes seconds.
    from sklearn.linear_model import SGDClassifier  # noqa: PLC0415 -- see the note above

    return SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4, random_state=SEED).fit(matrix, labels)


def _holdout_report(features: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import classification_report  # noqa: PLC0415 -- see the note above
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    # Stratified where every value has two tickets at least (one to learn from, one to hold out).
    stratify = labels if min(Counter(labels).values()) >= 2 else None
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        list(texts), list(labels), test_size=HOLDOUT, random_state=SEED, stratify=stratify
    )
    if len(set(train_labels)) < 2:
        return {}
    classifier = _fit(features.transform(train_texts), train_labels)
    predicted = classifier.predict(features.transform(test_texts))
    report: dict[str, Any] = classification_report(test_labels, predicted, output_dict=True, zero_division=0)
    return report
