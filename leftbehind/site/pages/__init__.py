"""Pages for people: every ward, council and region in words, Find my ward, and the archive.

``words`` says things (pure functions), ``geometry`` measures, ``reading`` reads the
database; ``wards``, ``areas`` and ``find`` make each page's data, ``find`` with
``postcodes`` (postcodes.db, the second database: one postcode, or many), ``places``
(names as people write them, and typos) and ``locate`` (the ward holding a point);
``hooks`` hands it to the templates; ``archive`` gives a session's page its speakers and
reading.
"""
