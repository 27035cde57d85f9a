"""Rekam: KTP-el recording, printing and Suket issuance for an election."""
