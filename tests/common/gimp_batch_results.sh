# gimp_batch_results.sh — sourced by tests/gimp2/batch.sh and
# tests/gimp3/batch.sh: the assertions on the six batch jobs (A-F) both
# GIMP versions must pass alike. $w holds the pictures the jobs saved, $log
# the log with their "report" lines; $1 is the GIMP profile folder.
expect_batch_results() {
    # A: RGBA-IMAGE is type 1, GRAYA-IMAGE 3.
    expect_log "$log" "A layers=2 position=0 size=64x64 offsets=0,0 type=1 name=Readout drag (seed 7);"
    expect_size "$w/a-out.png" 64 64
    expect_same "$w/a-src-before.png" "$w/a-src-after.png"
    expect_differ "$w/a-out.png" "$w/a-src-before.png"
    expect_same "$w/a-out.png" "$w/a-cli.png"

    expect_log "$log" "B layers=3 position=1 size=64x64 offsets=0,0 type=1 name=Readout identity (seed 11);"
    expect_size "$w/b-out.png" 64 64
    expect_same "$w/b-src-before.png" "$w/b-src-after.png"
    expect_same "$w/b-ref-before.png" "$w/b-ref-after.png"

    expect_log "$log" "C layers=3 position=1 size=64x64 offsets=0,0 type=1 name=Readout pose fill (seed 5);"
    expect_size "$w/c-out.png" 64 64
    expect_same "$w/c-src-before.png" "$w/c-src-after.png"
    # Outside the selection the fill keeps the source's pixels; inside it paints.
    convert "$w/c-out.png" -alpha off -crop 64x16+0+0 +repage "$w/c-out-top.png"
    convert "$w/c-src-before.png" -alpha off -crop 64x16+0+0 +repage "$w/c-src-top.png"
    expect_same "$w/c-out-top.png" "$w/c-src-top.png"
    expect_differ "$w/c-out.png" "$w/c-src-before.png"

    expect_log "$log" "D layers=3 position=0 size=64x64 offsets=50,40 type=1 name=Readout drag (seed 3);"
    expect_log "$log" "D2 layers=4 position=1 size=64x64 offsets=50,40 type=1 name=Readout pose fill (seed 4);"
    expect_size "$w/d-out.png" 64 64
    expect_size "$w/d-fill.png" 64 64
    expect_same "$w/d-src-before.png" "$w/d-src-after.png"
    # The selection sat at layer pixels 16..35: the fill changed them and kept the rest.
    convert "$w/d-fill.png" -crop 20x20+16+16 +repage "$w/d-fill-in.png"
    convert "$w/d-src-before.png" -crop 20x20+16+16 +repage "$w/d-src-in.png"
    expect_differ "$w/d-fill-in.png" "$w/d-src-in.png"
    convert "$w/d-fill.png" -alpha off -crop 64x16+0+48 +repage "$w/d-fill-bottom.png"
    convert "$w/d-src-before.png" -alpha off -crop 64x16+0+48 +repage "$w/d-src-bottom.png"
    expect_same "$w/d-fill-bottom.png" "$w/d-src-bottom.png"

    expect_log "$log" "E layers=2 position=0 size=64x64 offsets=0,0 type=3 name=Readout drag (seed 2);"
    expect_size "$w/e-out.png" 64 64
    expect_same "$w/e-src-before.png" "$w/e-src-after.png"

    expect_log "$log" "F layers=2 position=0 size=64x64 offsets=0,0 type=1 name=Readout drag (seed 2);"
    expect_size "$w/f-out.png" 64 64
    expect_same "$w/f-src-before.png" "$w/f-src-after.png"
    ae=$(compare -metric AE -fuzz 2% "$w/f-out.png" "$w/f-cli.png" null: 2>&1 || true)
    if [ "$ae" = 0 ]; then ok "f-out.png = f-cli.png to 2%"; else fail "f-out.png and f-cli.png differ in $ae pixels"; fi
    expect_menus "$1/pluginrc"
}
