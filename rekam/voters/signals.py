"""What the voter list tells other parts of Rekam, without knowing who listens.

Both are sent inside the transaction that wrote the verdicts, so a receiver's writes commit or
roll back with them.
"""

from __future__ import annotations

from django.dispatch import Signal

# A reconciliation stored its verdicts and counts. Keyword arguments:
#   election   Election   the election reconciled
#   regencies  list[str]  the regency/city codes the run covered (their counts were replaced)
#   read_from  datetime   when the run began reading the registry: moves since then may be
#                         missing from its verdicts
reconciled = Signal()

# A person confirmed that a voter is a resident (a candidate match). Keyword arguments:
#   election   Election
#   voter      Voter      the voter, now matched
#   ktp_state  str        the resident's KTP-el state when matched
#   old_state  str        the state the voter was counted with before ("" when not matched)
voter_matched = Signal()
