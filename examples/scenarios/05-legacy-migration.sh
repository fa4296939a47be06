#!/usr/bin/env bash
# Scenario 5 — migration from legacy configurations: seed 000's legacy
# config (`prefix`, `format`, `access_key`, `secret_key`), an Airbyte
# source-s3 v4 config and a Fivetran S3 config, each turned into the native
# config by `import-config` and each read as it is, giving the same records.
#
# Shows: each legacy config and what it became (secrets masked on screen;
# import-config itself prints them, since the file is yours), the WARN
# naming the new keys, the record counts, and a legacy config with a wrong
# secret key with what `check` says. (Fivetran configs have no endpoint: the
# native `endpoint_url` points this one at the local server, and is kept.)
#
# Run: examples/scenarios/05-legacy-migration.sh
source "$(dirname "$0")/lib.sh"

section "Scenario 5: migration from legacy configurations"
start_server my-bucket
echo "generating CSV events..."
gen_events "$DATA/my-bucket/data" --format csv --years 2024 >/dev/null
echo "  $(find "$DATA/my-bucket/data" -type f | wc -l) CSV objects under data/"

mask() { sed -e "s/$SECRET_KEY/****/g" -e 's/^/    /'; }

legacy=$(plain_file legacy.json "{
    \"bucket\": \"my-bucket\",
    \"prefix\": \"data/\",
    \"format\": \"csv\",
    \"access_key\": \"$ACCESS_KEY\",
    \"secret_key\": \"$SECRET_KEY\",
    \"endpoint\": \"$ENDPOINT\",
    \"use_ssl\": false
}")
airbyte=$(plain_file airbyte.json "{
    \"bucket\": \"my-bucket\",
    \"credentials\": {\"aws_access_key_id\": \"$ACCESS_KEY\", \"aws_secret_access_key\": \"$SECRET_KEY\"},
    \"endpoint\": \"$ENDPOINT\",
    \"streams\": [{\"name\": \"data\", \"globs\": [\"data/**/*.csv\"], \"format\": {\"filetype\": \"csv\"}}]
}")
fivetran=$(plain_file fivetran.json "{
    \"service\": \"s3\",
    \"config\": {
        \"bucket\": \"my-bucket\",
        \"prefix\": \"data\",
        \"pattern\": \"data/.*\\\\.csv$\",
        \"file_type\": \"csv\",
        \"auth_type\": \"ACCESS_KEY\",
        \"access_key_id\": \"$ACCESS_KEY\",
        \"access_key_secret\": \"$SECRET_KEY\",
        \"table\": \"data\",
        \"endpoint_url\": \"$ENDPOINT\"
    }
}")

for flavour in legacy airbyte fivetran; do
    section "$flavour config → native (import-config)"
    echo "  $flavour:"
    mask <"$WORK/$flavour.json"
    "$BIN/source-s3" import-config "$WORK/$flavour.json" >"$WORK/$flavour.native.json" 2>"$WORK/$flavour.import.err"
    echo "  became:"
    mask <"$WORK/$flavour.native.json"
    echo "  notes (stderr):"
    mask <"$WORK/$flavour.import.err"
done

section "Each config read as it is, and its native form: the same records"
for flavour in legacy airbyte fivetran; do
    ok_run "read_$flavour" source-s3 read --config "$WORK/$flavour.json"
    ok_run "read_${flavour}_native" source-s3 read --config "$WORK/$flavour.native.json"
    a=$(report records "read_$flavour")
    b=$(report records "read_${flavour}_native")
    echo "  $flavour: $a records; its native config: $b records"
    [ "$a" = "$b" ] && [ "$a" -gt 0 ] || { echo "error: the records differ" >&2; exit 1; }
done
report warnings read_legacy "legacy"

section "Mistake: a legacy config with a wrong secret key"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); c["secret_key"]="not-the-secret"; json.dump(c, open(sys.argv[2], "w"))' \
    "$legacy" "$WORK/wrong.json"
ok_run wrong source-s3 check --config "$WORK/wrong.json"
report error wrong
if grep -q "not-the-secret" "$WORK/wrong.out" "$WORK/wrong.err"; then
    echo "error: the secret appeared in the output" >&2
    exit 1
fi
echo "  (the secret itself appears nowhere in the output)"
echo
echo "Scenario 5 done: migration scenarios work seamlessly."
