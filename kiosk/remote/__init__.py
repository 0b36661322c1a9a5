"""Remote video help (远程帮办), kiosk side, without Qt: the ``rh/1`` envelope and state machine
(:mod:`.protocol`), allow-list masking of step snapshots (:mod:`.masking`), the hash-chained
audit log (:mod:`.audit`) and the events posted to the app (:mod:`.notices`). Design:
docs/remote-help.md.
"""
