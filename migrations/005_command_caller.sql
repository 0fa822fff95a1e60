-- Who asked for a command on this machine: a running logger carries out
-- `thermomaven command` for local callers over its control channel (the
-- same uid or root), so the audit trail records the caller's uid
-- (SO_PEERCRED), or the standalone command's own uid. NULL in older rows.
ALTER TABLE commands ADD COLUMN caller_uid INTEGER;
