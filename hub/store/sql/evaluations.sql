-- name: insert_evaluation
-- Once per case: a second rating is refused, not overwritten.
WITH rated AS (
    INSERT INTO evaluations (case_no, rating, comment, source, rated_at)
    SELECT $1, $2, $3, $4, $5 FROM cases WHERE case_no = $1
    ON CONFLICT (case_no) DO NOTHING
    RETURNING case_no, rating
)
UPDATE cases SET rating = rated.rating FROM rated WHERE cases.case_no = rated.case_no
RETURNING cases.case_no;

-- name: cancel_evaluation_prompt
UPDATE timers SET status = 'cancelled'
 WHERE case_no = $1 AND kind = 'evaluation_prompt' AND status = 'pending';
