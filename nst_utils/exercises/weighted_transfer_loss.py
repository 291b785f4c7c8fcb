"""Exercise 3c: the weighted total loss, content_weight * J_C + sum_l w_l J_S^l + tv_weight * TV,
as a function of the image built once from the content and style images."""

import numpy as np

from .. import losses, transfer
from .judging import FORGOT_RETURN, OUTSIDE_OPS, Mistake, compare, gradient_verdict, numpy_value
from .probing import (
    MISMATCH,
    NO_RETURN,
    Failure,
    as_array,
    attempt,
    gradient,
    returned,
    stand_in_extractor,
    tensor,
)
from .random_inputs import normal
from .record import Exercise

#: The student's function's arguments in the checks, for the probe's stand-in network.
WEIGHTED_ARGS = {"content_layer": "high", "style_layers": ["low", "high"],
                 "content_weight": 2.0, "style_weights": (3.0, 5.0), "tv_weight": 0.25}
#: The terms of the total loss, each also probed for its gradient (raw key "<term>_gradient").
TERMS = ("content", "style", "tv")
OUTPUTS = ("keys", "network_runs", "content", "style", "tv", "content_gradient",
           "style_gradient", "tv_gradient")


def inputs(seed):
    content, style, image = normal(seed, (1, 8, 8, 3), (1, 6, 10, 3), (1, 8, 8, 3))
    return {"content": content, "style": style, "image": image}


def probe(fn, inputs):
    """Build the student's loss on the stand-in network and evaluate it, and each term's
    gradient with respect to the image, at one image; count the network's runs while the loss
    is built and while it is evaluated once ("network_runs": [built, evaluated])."""
    content, style, image = inputs["content"], inputs["style"], inputs["image"]
    runs = []

    def network(batch):  # the stand-in network, counting its runs
        runs.append(1)
        return stand_in_extractor(batch)

    loss = attempt(lambda: returned(fn(network, content, style, **WEIGHTED_ARGS)))
    built = len(runs)
    terms = loss if isinstance(loss, Failure) else attempt(lambda: returned(loss(tensor(image))))
    if terms == NO_RETURN:  # say which of the two functions returned nothing
        terms = Failure(("loss(image): " if terms is not loss else "weighted_transfer_loss: ")
                        + terms)
    network_runs = np.asarray([built, len(runs) - built])
    missing = Failure("no value to check")
    if isinstance(terms, Failure):
        return {"keys": terms, **{key: missing for key in OUTPUTS if key != "keys"}}
    if not isinstance(terms, dict):
        terms = {}
    raw = {"keys": [str(key)[:40] for key in list(terms)[:10]], "network_runs": network_runs}
    for term in TERMS:
        present = term in terms
        raw[term] = attempt(lambda term=term: as_array(terms[term])) if present else missing
        raw[f"{term}_gradient"] = (gradient(lambda x, term=term: loss(x)[term], image) if present
                                   else missing)
    return raw


def _terms(content, style, image, **changes):
    """The library's three weighted terms on the stand-in network, with `changes` to the
    arguments of `WEIGHTED_ARGS`."""
    loss = transfer.weighted_transfer_loss(stand_in_extractor, content, style,
                                           **{**WEIGHTED_ARGS, **changes})
    return {name: float(numpy_value(value)) for name, value in loss(image).items()}


def _unweighted_style(content, style, image):
    return sum(float(numpy_value(losses.style_reconstruction_loss(
        stand_in_extractor(style)[layer][0], stand_in_extractor(image)[layer][0])))
        for layer in WEIGHTED_ARGS["style_layers"])


_LAYERS = WEIGHTED_ARGS["style_layers"]
#: wrong(content, style, image) gives (term, its wrong value) on the case's images; `swapped`
#: and `missing_terms` are found by the judge (a shape mismatch, the dict's keys).
MISTAKES = {
    "content_unweighted": Mistake(
        "multiply the content loss by content_weight",
        lambda c, s, i: ("content", _terms(c, s, i, content_weight=1.0)["content"])),
    "layer_weights_not_averaged": Mistake(
        "divide each layer's weight by the number of style layers, as the homework does",
        lambda c, s, i: ("style", _terms(c, s, i, style_weights=[
            w * len(_LAYERS) for w in WEIGHTED_ARGS["style_weights"]])["style"])),
    "style_unweighted": Mistake("weight each layer's style loss",
                                lambda c, s, i: ("style", _unweighted_style(c, s, i))),
    "tv_unweighted": Mistake(
        "multiply the total variation by tv_weight",
        lambda c, s, i: ("tv", _terms(c, s, i, tv_weight=1.0)["tv"])),
    "content_at_a_style_layer": Mistake(
        "compare the content at content_layer; the style layers are for the style term",
        lambda c, s, i: ("content", [_terms(c, s, i, content_layer=layer)["content"]
                                     for layer in _LAYERS
                                     if layer != WEIGHTED_ARGS["content_layer"]])),
    "swapped": Mistake(
        "content and style swapped? The content term compares the image with the content image; "
        "the style image enters only through Gram matrices"),
    "missing_terms": Mistake("return a function giving a dict with the keys 'content', 'style' "
                             "and 'tv'"),
    "targets_recomputed": Mistake(
        "compute the content features and style Gram matrices once, before defining "
        "loss(image), which runs at every step: it should run the network on the image only"),
    "forgot_return": FORGOT_RETURN,
    "outside_ops": OUTSIDE_OPS,
}


def judge(inputs, raw):
    content, style, image = inputs["content"], inputs["style"], inputs["image"]
    expected = _terms(content, style, image)
    hints = {term: [] for term in TERMS}
    for mistake in MISTAKES.values():
        if mistake.wrong is not None:
            term, values = mistake.wrong(content, style, image)
            hints[term] += [(value, mistake.hint)
                            for value in (values if isinstance(values, list) else [values])]
    keys = raw["keys"]
    if isinstance(keys, Failure):
        built = str(keys)
        if MISMATCH in built:  # the hint first: the gradebook keeps 300 characters
            built += (f". Hint: {MISTAKES['swapped'].hint} (it received a content image "
                      f"{content.shape} and a style image {style.shape})")
    elif set(keys) != set(TERMS):
        built = MISTAKES["missing_terms"].hint
    else:
        built = None
    values = {term: compare(raw[term], expected[term], hints[term], rtol=1e-3)
              for term in TERMS}
    reference = transfer.weighted_transfer_loss(stand_in_extractor, content, style,
                                                **WEIGHTED_ARGS)
    flows = next(filter(None, (
        _term_problem(term, gradient_verdict(raw[f"{term}_gradient"], gradient(
            lambda x, term=term: reference(x)[term], image), values[term]))
        for term in TERMS)), None)
    return [("returns a function of the image giving the three terms", built),
            *[(f"the weighted {term} term", values[term]) for term in TERMS],
            ("a gradient flows back to the image through each term, and is right", flows),
            ("the targets are computed once, when the loss is built",
             _runs_problem(raw["network_runs"]))]


def _runs_problem(runs):
    """What is wrong with the network's runs [while built, while evaluated once], or None."""
    if isinstance(runs, Failure):
        return str(runs)
    if not isinstance(runs, np.ndarray) or runs.shape != (2,):
        return "the network's runs could not be counted"
    built, evaluated = (int(n) for n in runs)
    if evaluated == 1:
        return None
    return (f"loss(image) ran the network {evaluated} times, expected once ({built} while "
            f"building). Hint: {MISTAKES['targets_recomputed'].hint}")


def _term_problem(term, problem):
    return problem and f"the {term} term: {problem}"


EXERCISE = Exercise(
    name="weighted_transfer_loss", points=2,
    summary=("Check the three weighted terms and their gradients against the library on a small "
             "stand-in network."),
    inputs=inputs, probe=probe, outputs=OUTPUTS, judge=judge, mistakes=MISTAKES,
    answer=("transfer.weighted_transfer_loss",))
