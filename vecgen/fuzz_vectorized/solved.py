"""The field weights of the built-in profiles, solved ahead of time.

:func:`~vecgen.fuzz_vectorized.profiles.selection_weights` solves a budgeted
profile's weights by simulation, about 0.3 s of CPU per profile, and a run of
the built-in sources solves two (the profile, and wifi's three fields): 0.65 s
of every run, most of a small run's time. The answers for the built-in profiles
are kept here, keyed by what the solution depends on (the fields' rates and
``fields_changed``); an edited profile misses and is solved at run time. Each
weight is written as Python's ``repr``, which reads back as the same float.

Generated: ``python tests/fuzz_vectorized/test_solved.py`` rewrites it, and
that test fails while it is out of date.
"""

SOLVED: dict[tuple[tuple[float, ...], tuple[tuple[int, float], ...]], tuple[float, ...]] = {
    (
        (32.2, 32.6, 15.5, 38.3, 24.5, 15.6, 4.9, 8.9, 25.0, 26.0),
        ((1, 29.8), (2, 33.8), (3, 23.1), (4, 9.6), (5, 3.0), (6, 0.7)),
    ): (
        0.8144307532872144,
        0.8190994280755616,
        0.34555936537033044,
        1.0,
        0.5815289032562176,
        0.3531098343370221,
        0.10356795468408383,
        0.19098594810081274,
        0.5981559287130583,
        0.6198702731869712,
    ),  # febrl
    ((32.2, 32.6, 15.6), ((1, 29.8), (2, 33.8), (3, 23.1))): (
        0.984391011419309,
        1.0,
        0.16309797870729287,
    ),  # febrl
    ((20, 20, 15, 10, 10, 5, 10, 25, 20), ((1, 70), (2, 25), (3, 5))): (
        0.7986130296006712,
        0.7859571651101698,
        0.5818549726531196,
        0.3748644608425442,
        0.3948700754384681,
        0.18492037840488976,
        0.4003862646500118,
        1.0,
        0.7930851131616028,
    ),  # easy
    ((20, 20, 10), ((1, 70), (2, 25), (3, 5))): (
        1.0,
        0.9708092097689017,
        0.39516100314188013,
    ),  # easy
    ((32, 32, 35, 25, 16, 5, 10, 25, 25), ((1, 45), (2, 35), (3, 15), (4, 5))): (
        0.9046621642116213,
        0.8935051223425214,
        1.0,
        0.6737047257297094,
        0.4237501795421783,
        0.1213245875204439,
        0.2649254697309521,
        0.6754712533588232,
        0.675235579315694,
    ),  # medium
    ((32, 32, 16), ((1, 45), (2, 35), (3, 15))): (
        1.0,
        0.9667870454155776,
        0.28486726449046,
    ),  # medium
    ((50, 45, 50, 40, 30, 20, 30, 50, 40, 10), ((2, 20), (3, 30), (4, 30), (5, 15), (6, 5))): (
        1.0,
        0.8520079949263257,
        0.984635718415027,
        0.7248721441922726,
        0.5144227444676729,
        0.33003048670417956,
        0.5186147555169908,
        0.993173243366176,
        0.7365922041975198,
        0.16088794363067613,
    ),  # hard
    ((50, 45, 30), ((2, 20), (3, 30))): (1.0, 0.20678946629188283, 0.02178319014452173),  # hard
}
