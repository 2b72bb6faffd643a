"""The bare table seen through Django's model layer, for the ``bare-orm`` floor view.

Unmanaged: ``run.seed`` creates the table with one ``CREATE TABLE`` and no migration, as it is
not part of Versus. Only the benchmark's settings install this app.
"""

from django.db import models

from benchmarks.voting_load import BARE_TABLE


class BareVote(models.Model):
    id = models.BigAutoField(primary_key=True)
    voter = models.TextField()
    choice = models.TextField()
    created = models.DateTimeField()

    class Meta:
        managed = False
        db_table = BARE_TABLE

    def __str__(self) -> str:
        return f"{self.voter}: {self.choice}"
