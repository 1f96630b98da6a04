-- People's contact fields (mobile, email, wecom_userid, wechat_openid) are stored sealed,
-- one column each (SM4-GCM, hub/privacy/people.py); names stay clear. The mobile's
-- blind index lets export and erasure by number find a person. Rows stored before this
-- migration keep their clear values (mobile_index NULL) and stay readable.
ALTER TABLE people ADD COLUMN mobile_index bytea;
CREATE INDEX people_by_mobile_index ON people (mobile_index) WHERE mobile_index IS NOT NULL;
