-- A rectification whose answer is due in the provisional next year (the State Council's
-- notice for it not yet imported) says so, as a case's deadline does.
ALTER TABLE rectifications ADD COLUMN provisional boolean NOT NULL DEFAULT false;
