#!/usr/bin/env python3
"""Writes the seed corpora of the sam-proto fuzz targets (fuzz/corpus/<target>/seed-*).

Sources: the reply/command lines and transcripts of the SAM reference (sam-proto/PROTOCOL.md
§11) and of the i2pd 2.45 testbed report (§3, in testbed/i2pd-2.45-transcripts.md), with the real
destinations of PROTOCOL.md §11.5 and the constructed key blobs of §11.6 in place of the transcripts'
`<PUB524>` / `<PRIV908>` placeholders. Run from anywhere: `python3 fuzz/make_corpus.py`.
It rewrites only files named seed-*; minimized finds (min-*, crash-*) are left alone.
"""
import base64
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# ---- key material (sam-proto/PROTOCOL.md §11.5 real destinations, §11.6 constructed blobs) ----
ZZZ = "GKapJ8koUcBj~jmQzHsTYxDg2tpfWj0xjQTzd8BhfC9c3OS5fwPBNajgF-eOD6eCjFTqTlorlh7Hnd8kXj1qblUGXT-tDoR9~YV8dmXl51cJn9MVTRrEqRWSJVXbUUz9t5Po6Xa247Vr0sJn27R4KoKP8QVj1GuH6dB3b6wTPbOamC3dkO18vkQkfZWUdRMDXk0d8AdjB0E0864nOT~J9Fpnd2pQE5uoFT6P0DqtQR2jsFvf9ME61aqLvKPPWpkgdn4z6Zkm-NJOcDz2Nv8Si7hli94E9SghMYRsdjU-knObKvxiagn84FIwcOpepxuG~kFXdD5NfsH0v6Uri3usE3XWD7Pw6P8qVYF39jUIq4OiNMwPnNYzy2N4mDMQdsdHO3LUVh~DEppOy9AAmEoHDjjJxt2BFBbGxfdpZCpENkwvmZeYUyNCCzASqTOOlNzdpne8cuesn3NDXIpNnqEE6Oe5Qm5YOJykrX~Vx~cFFT3QzDGkIjjxlFBsjUJyYkFjBQAEAAcAAA=="
I2P_PROJEKT = "8ZAW~KzGFMUEj0pdchy6GQOOZbuzbqpWtiApEj8LHy2~O~58XKxRrA43cA23a9oDpNZDqWhRWEtehSnX5NoCwJcXWWdO1ksKEUim6cQLP-VpQyuZTIIqwSADwgoe6ikxZG0NGvy5FijgxF4EW9zg39nhUNKRejYNHhOBZKIX38qYyXoB8XCVJybKg89aMMPsCT884F0CLBKbHeYhpYGmhE4YW~aV21c5pebivvxeJPWuTBAOmYxAIgJE3fFU-fucQn9YyGUFa8F3t-0Vco-9qVNSEWfgrdXOdKT6orr3sfssiKo3ybRWdTpxycZ6wB4qHWgTSU5A-gOA3ACTCMZBsASN3W5cz6GRZCspQ0HNu~R~nJ8V06Mmw~iVYOu5lDvipmG6-dJky6XRxCedczxMM1GWFoieQ8Ysfuxq-j8keEtaYmyUQme6TcviCEvQsxyVirr~dTC-F8aZ~y2AlG5IJz5KD02nO6TRkI2fgjHhv9OZ9nskh-I2jxAzFP6Is1kyAAAA"
TRACKER = "gzBtMSRcMD6b36PmPCQWZhh30fYm2Ww2r4tRSref4N2T4~cnXK3DjJOuJwao2jRK4bZwX2Rkyjw849xrFMqaR3SdPe3-K61B~Kr9Uo1KLdm3~oahOWFmCaIlipPs-i3jdTT~721YUcYB09n4PGrDq5KZSOOBlLZKulJficO58QRUlDpva4OCCRrX9EUCoAavOciKpvKtnGwl6AiPFu8WnmEeGQ861vjdirjfkHWNp3gj9IjGuxJNcgyHi51BWYZM6il~LJTcbA4zuZn~qudHIx9uzUtO-t08yzSRrmfVwVVVru6-~BBX0ipADi9UGZjyB-PJEKKjizUPxSp2OCmiOlQ2iXpKs2j8yfjHJbn-eWKpIh4jfpNigy6AbDfzFivkvm8lt8CleYf-p3~SHdqIL0iEaacxi5BAU4Baj5yS818kPQP4hEEMMtq4WnKjl4IW64swXSg1wlVBTiKDJzzQGK20jySBuPxhEbd6sfAeirzn585g5EqeV8DLqsMfe5pZBQAEAAEAAA=="
SECURE = "0ncSrtVS20zwfcM7h2S6SSF56uVM2bftQwf40jsWKASNQnzyDVEzXpS04y-DJpm9EwKMGkgvx8ICBX-80W4E9xPJEdGFbb2u34fWmpTVMc3vwwB9ywmSXoxFbwiFx2sm7-HCcdALZwrjU3J41AfBvpEVkB5dXklTZIh~bU0JBTK2JIvQMD0XrSOztEruTc5kYymtkiCUpJaJJFXyIM3lKRcNlZ76UidE8AyQxHX7s9OR02pk7FhYV8Uh-Bs8loAZg6IPZzoYnnBYyi--b1-N8Ipv3aKmqSZPbQEzfQxU8-BE74xBLNEWAJtB8ptKMiKfHphO7qDKWqTzOU-7BtGXZAEOA3oblRAQcgqUbi~aICj0V0MAuYAdj7f-8BIi2k3Qfcl6k6XOFEpZqYFle71LeCjIZN~0mDDzxlr0Scx6LKMGnQAtYlGXFq99urp1MutPDZEu47mdxGWqc9CoNNNsE2UgS9ykvWygefNpZhkmceBXmDxWhuAPD1M2~eNF-fCMBQAIAAMAADZv~vU="
I2PNEWS = "XHS99uhrvijk3KxU438LjNf-SMXXiNXsbV8uwHFXdqsDsHPZRdc6LH-hEMGWDR5g2b65KLlSm8plFrTusR-yxBfGHtZLa9vhXCwWXXbUlBe7Ty6NlwY7GmJItBKPO09BbUa0oJ5jITjLM1mVxeHShAZs8IMlLJjYaeYycDdaUInuPrng51~ySeiiKKxHa3qJkFOuPgQQiCXqy-9Qhi7t9j16iXzWWZ5yN7XcE9i1J7UQix66ntwILTnTAYBelNbONPiSJzKq-BiXj13bI3~liBgckJGf1a1dU8lOuAemtB-XM36cUcg~LQ6iHMuxK-AE8UDQHTNma6E0TxlK5DizV34UgiJ2CxRB5n8BBrZQEvIjYOExXyt6gbopL-aer1qrL1zoIKoMbGon5P4GV~f8NyClJKHXSS2NW7FV-kZbmA0WSLAxecyBfSLStIlw01gtnb2OAQt6OkMQ693N2-L~IJMg4f1lWK4Pv0bIqJUrHZS8YyeWbb4Y~pto6hkd0kgRBQAEAAEAAA=="
# §11.6: constructed Ed25519 destination (PUB524) and its PRIV (PRIV908) / offline-signed PRIV.
PUB = "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAA=="


def b64d(s):
    return base64.b64decode(s.replace("-", "+").replace("~", "/"))


def b64e(b):
    return base64.b64encode(b).decode().replace("+", "-").replace("/", "~")


# A DATAGRAM3 sender as i2pd 2.59 forwards it (probe on the testbed, 2026-12-03).
DG3_HASH = "xaPzeXQvPdVBHgBgZZxQqcKohIF63Bv-eJlRxlxo4Gg="
PRIV_BYTES = b64d(PUB) + bytes(256) + bytes(range(32))  # §11.6 PRIV, 679 bytes
PRIV = b64e(PRIV_BYTES)
assert len(PRIV) == 908
OFFLINE_BYTES = (
    b64d(PUB) + bytes(256) + bytes(32)
    + bytes.fromhex("f4865700") + b"\x00\x07"
    + bytes.fromhex("29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7")
    + bytes.fromhex("8cf7ee1dc365049199f99ec7fc38e8ffef4245df2dcd868504e1fec2c5236e2f"
                    "317565042042441b7d540330688a1bf107b27aeb9c3b02d8c117004b5a97630a")
    + bytes(range(0x20, 0x40))
)
assert len(OFFLINE_BYTES) == 813
# Constructed here: a DSA_SHA1 PRIV (884 chars, as i2pd's default DEST GENERATE) on the
# i2p-projekt.i2p destination, and an X25519 (crypto type 4) variant of the §11.6 key.
DSA_PRIV_BYTES = b64d(I2P_PROJEKT) + bytes(256) + bytes(range(1, 21))
assert len(b64e(DSA_PRIV_BYTES)) == 884
X25519_DEST = b64d(PUB)[:384] + bytes.fromhex("05000400070004")
X25519_PRIV_BYTES = X25519_DEST + bytes(range(100, 132)) + bytes(range(32))
P521_PRIV_BYTES = b64d(SECURE) + bytes(256) + bytes(range(66))

PUB_B32 = "gxtm2jk2rmyu3dymfncjyu6jgbu2aysvzjjd3kdsx3ugsp6y6bdq.b32.i2p"
ZZZ_B32 = "lhbd7ojcaiofbfku7ixh47qj537g572zmhdc4oilvugzxdpdghua.b32.i2p"

S = {}  # target -> {name: bytes}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode("latin-1") if any(ord(c) > 127 for c in data) else data.encode()
    S.setdefault(target, {})["seed-" + name] = data


# ---- reply: sam-proto/PROTOCOL.md §11.1-11.4, testbed/i2pd-2.45-transcripts.md ------------------
R = [
    ("hello-ok-3.1", "HELLO REPLY RESULT=OK VERSION=3.1\n"),
    ("hello-ok-0.3-i2pd-bug", "HELLO REPLY RESULT=OK VERSION=0.3\n"),
    ("hello-noversion", "HELLO REPLY RESULT=NOVERSION\n"),
    ("hello-error-java-quoted", 'HELLO REPLY RESULT=I2P_ERROR MESSAGE="Must start with HELLO VERSION"\n'),
    ("hello-crlf", "HELLO REPLY RESULT=OK VERSION=3.3\r\n"),
    ("session-ok-priv908", "SESSION STATUS RESULT=OK DESTINATION=" + PRIV + "\n"),
    ("session-duplicated-id", "SESSION STATUS RESULT=DUPLICATED_ID\n"),
    ("session-invalid-key-java", 'SESSION STATUS RESULT=INVALID_KEY MESSAGE="bad key: \\"x\\""\n'),
    ("session-add-java", 'SESSION STATUS RESULT=OK ID="stream99" MESSAGE="ADD stream99"\n'),
    ("session-error-i2pd", 'SESSION STATUS RESULT=I2P_ERROR MESSAGE="Socket already in use"\n'),
    ("stream-ok", "STREAM STATUS RESULT=OK\n"),
    ("stream-cant-reach-i2pd", "STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=\"Can't connect to myself\"\n"),
    ("stream-invalid-key-java", 'STREAM STATUS RESULT=INVALID_KEY MESSAGE="Host name not found: nosuch.i2p"\n'),
    ("stream-already-accepting", 'STREAM STATUS RESULT=ALREADY_ACCEPTING MESSAGE="primary session"\n'),
    ("dest-reply-pub-priv", "DEST REPLY PUB=" + PUB + " PRIV=" + PRIV + "\n"),
    ("dest-reply-error-no-newline", 'DEST REPLY RESULT=I2P_ERROR MESSAGE="DEST GENERATE required"'),
    ("naming-ok-i2p-projekt", "NAMING REPLY RESULT=OK NAME=i2p-projekt.i2p VALUE=" + I2P_PROJEKT + "\n"),
    ("naming-key-not-found-empty-name", 'NAMING REPLY RESULT=KEY_NOT_FOUND NAME="" MESSAGE="Must specify NAME"\n'),
    ("naming-invalid-key-bare-name", "NAMING REPLY RESULT=INVALID_KEY NAME=\n"),
    ("naming-raw-bytes-i2pd", "NAMING REPLY RESULT=INVALID_KEY NAME=\xff\xfe\x80.i2p\n"),
    ("naming-leaseset-option", 'NAMING REPLY RESULT=OK NAME=example.i2p VALUE=' + ZZZ
     + ' OPTION:_smtp._tcp="1 86400 0 0 25 ' + ZZZ_B32 + '"\n'),
    ("datagram-received-java", "DATAGRAM RECEIVED DESTINATION=" + ZZZ + " SIZE=5 FROM_PORT=0 TO_PORT=0\n"),
    ("raw-received-java", "RAW RECEIVED SIZE=5 PROTOCOL=18 FROM_PORT=0 TO_PORT=0\n"),
    ("raw-received-i2pd", "RAW RECEIVED SIZE=7\n"),
    ("pong-bare", "PONG\n"),
    ("pong-two-spaces", "PONG hello  world\n"),
    ("ping-java-keepalive", "PING 1700000000000\n"),
    ("quit-status-java", "QUIT STATUS RESULT=OK MESSAGE=bye\n"),
    ("foo-status-unsupported", 'FOO STATUS RESULT=I2P_ERROR MESSAGE="unsupported command, enter HELP for help"\n'),
    ("auth-status-ok", "AUTH STATUS RESULT=OK\n"),
    ("accept-line-java-ports", ZZZ + " FROM_PORT=0 TO_PORT=0\n"),
    ("accept-line-i2pd", ZZZ + "\n"),
    ("accept-line-dsa-no-padding", I2P_PROJEKT + " FROM_PORT=1234 TO_PORT=0\n"),
    ("tokenizer-runs-of-spaces-tabs", "STREAM \t STATUS   RESULT=OK\tMESSAGE=\"a  b\"\n"),
    ("tokenizer-escapes-bare-empty", 'X STATUS RESULT=I2P_ERROR KEY="say \\"hi\\"" FLAG EMPTY= Q=ab"c d"\n'),
]
for n, l in R:
    seed("reply", n, l)

# ---- command: testbed/i2pd-2.45-transcripts.md (client side) and sam-proto/PROTOCOL.md ---------
C = [
    ("hello-min-max", "HELLO VERSION MIN=3.1 MAX=3.3\n"),
    ("hello-bare", "HELLO VERSION\n"),
    ("hello-crlf", "HELLO VERSION MIN=3.0 MAX=3.3\r\n"),
    ("hello-double-space", "HELLO VERSION  MIN=3.0 MAX=3.1\n"),
    ("hello-user-password-quoted", 'HELLO VERSION MIN=3.2 MAX=3.3 USER="bob" PASSWORD="p w\\"d"\n'),
    ("dest-generate", "DEST GENERATE\n"),
    ("dest-generate-sig-name", "DEST GENERATE SIGNATURE_TYPE=EdDSA_SHA512_Ed25519\n"),
    ("dest-generate-sig7-crypto4", "DEST GENERATE SIGNATURE_TYPE=7 CRYPTO_TYPE=4\n"),
    ("dest-generate-lowercase", "dest generate\n"),
    ("session-create-transient", "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT inbound.length=0 outbound.length=0\n"),
    ("session-create-priv908", "SESSION CREATE STYLE=STREAM ID=a3 DESTINATION=" + PRIV + " inbound.length=0 outbound.length=0\n"),
    ("session-create-datagram-port", "SESSION CREATE STYLE=DATAGRAM ID=d1 DESTINATION=TRANSIENT SIGNATURE_TYPE=7 PORT=46063 HOST=127.0.0.1 inbound.length=0 outbound.length=0\n"),
    ("session-create-master", "SESSION CREATE STYLE=MASTER ID=m DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=0 outbound.length=0\n"),
    ("session-create-bad-id", "SESSION CREATE STYLE=STREAM ID=bad/id DESTINATION=TRANSIENT\n"),
    ("session-add-stream", "SESSION ADD STYLE=STREAM ID=m-s1 FROM_PORT=1000\n"),
    ("session-add-datagram", "SESSION ADD STYLE=DATAGRAM ID=m-d1 PORT=5555 HOST=127.0.0.1 FROM_PORT=2000\n"),
    ("session-remove", "SESSION REMOVE ID=m2-s1\n"),
    ("stream-connect-pub524", "STREAM CONNECT ID=sa DESTINATION=" + PUB + "\n"),
    ("stream-connect-b32", "STREAM CONNECT ID=sa DESTINATION=upurl4s2nmxjktfthvv2gjo2dxegoils5rwedppcf5qrnhgzx34q.b32.i2p\n"),
    ("stream-connect-silent-ports", "STREAM CONNECT ID=xb DESTINATION=zzz.i2p SILENT=true FROM_PORT=0 TO_PORT=80\n"),
    ("stream-accept", "STREAM ACCEPT ID=sb\n"),
    ("stream-accept-silent", "STREAM ACCEPT ID=xb SILENT=true\n"),
    ("stream-forward", "STREAM FORWARD ID=fb PORT=45979\n"),
    ("stream-forward-host-silent", "STREAM FORWARD ID=fb PORT=40329 HOST=127.0.0.2 SILENT=true SSL=false\n"),
    ("naming-lookup-me", "NAMING LOOKUP NAME=ME\n"),
    ("naming-lookup-b32", "NAMING LOOKUP NAME=bquapksoj4qu37zlckjoiovrn3u42vr6pvrkwa7ua3h2avdgruba.b32.i2p\n"),
    ("naming-lookup-raw-bytes", "NAMING LOOKUP NAME=\xff\xfe\x80.i2p\n"),
    ("naming-lookup-empty-name", "NAMING LOOKUP NAME=\n"),
    ("naming-lookup-quoted-space", 'NAMING LOOKUP NAME="a b" OPTIONS=true\n'),
    ("datagram-send", "DATAGRAM SEND DESTINATION=" + ZZZ + " SIZE=18\n"),
    ("raw-send-ports", "RAW SEND DESTINATION=" + I2P_PROJEKT + " SIZE=18 FROM_PORT=1 TO_PORT=2 PROTOCOL=18\n"),
    ("ping-two-spaces", "PING hello  world\n"),
    ("ping-bare", "PING\n"),
    ("quit", "QUIT\n"),
    ("nul-inside", "DEST\x00GENERATE\n"),
]
for n, l in C:
    seed("command", n, l)

# ---- line: sam-proto/PROTOCOL.md §11.7 tokenizer table, multi-line reads ------------------------
L = [
    ("tok-quoted-space", 'NAMING LOOKUP NAME="a b"\n'),
    ("tok-escaped-quotes", 'X Y KEY="say \\"hi\\""\n'),
    ("tok-backslash-unquoted", "X Y KEY=a\\ b\n"),
    ("tok-bare-key", "X Y FLAG\n"),
    ("tok-empty-values", 'X Y EMPTY= E2=""\n'),
    ("tok-duplicate", "X Y A=1 A=2\n"),
    ("tok-equals-in-value", "X Y K=a=b\n"),
    ("tok-quote-mid-value", 'X Y K=ab"c d"\n'),
    ("tok-runs-of-spaces", "X  Y   K=v\n"),
    ("tok-tabs", "X\tY\tK=v\n"),
    ("tok-unterminated-quote", 'X Y K="unterminated\n'),
    ("tok-empty-key", "X Y =v\n"),
    ("tok-unterminated-escape", 'X Y K="v\\\n'),
    ("tok-ping-payload", "PING hello  world\n"),
    ("tok-lowercase", "hello version\n"),
    ("multi-pipelined-i2pd", "DEST GENERATE\nNAMING LOOKUP NAME=ME\n"),
    ("multi-java-tunnel-build", 'SESSION STATUS RESULT=I2P_ERROR MESSAGE="Tunnel build interrupted"\nQUIT STATUS RESULT=OK MESSAGE=bye\n'),
    ("multi-crlf-and-eof", "HELLO REPLY RESULT=OK VERSION=3.1\r\nSTREAM STATUS RESULT=OK\r\nno newline at the end"),
    ("utf8-and-raw-bytes", 'NAMING REPLY RESULT=OK NAME="\xc3\xa9t\xc3\xa9" MESSAGE=\xff\n'),
    ("empty-lines", "\n\r\n  \n"),
]
for n, l in L:
    seed("line", n, l)


# ---- exchange: header (kind, split count, split bytes) + what the bridge says -------------------
def ex(kind, splits, bridge):
    return bytes([kind, len(splits)]) + bytes(splits) + (bridge.encode("latin-1") if isinstance(bridge, str) else bridge)


HELLO_OK = "HELLO REPLY RESULT=OK VERSION=3.1\n"
NO_HELLO = 0x10  # bit 4: no HELLO (3.1 negotiated before); bit 5: 3.3
E = [
    ("hello-ok", ex(0, [], HELLO_OK)),
    ("hello-ok-bytewise", ex(0, [0], "HELLO REPLY RESULT=OK VERSION=3.0\nleft")),
    ("hello-noversion", ex(0, [], "HELLO REPLY RESULT=NOVERSION\n")),
    ("hello-missing-version", ex(0, [3, 7], "HELLO REPLY RESULT=OK\n")),
    ("hello-eof-no-newline", ex(0, [], "HELLO REPLY RESULT=OK VERSION=3.1")),
    ("dest-pub-priv", ex(1, [200, 9], HELLO_OK + "DEST REPLY PUB=" + PUB + " PRIV=" + PRIV + "\n")),
    ("dest-java-error-eof", ex(1, [], HELLO_OK + 'DEST REPLY RESULT=I2P_ERROR MESSAGE="DEST GENERATE required"')),
    ("naming-ok-me", ex(2, [33, 1], HELLO_OK + "NAMING REPLY RESULT=OK NAME=ME VALUE=" + PUB + "\n")),
    ("naming-invalid-key", ex(2 | NO_HELLO, [], "NAMING REPLY RESULT=INVALID_KEY NAME=ME\n")),
    ("session-ok-priv", ex(3, [40, 255], HELLO_OK + "SESSION STATUS RESULT=OK DESTINATION=" + PRIV + "\n")),
    ("session-duplicated-id", ex(3, [], HELLO_OK + "SESSION STATUS RESULT=DUPLICATED_ID\n")),
    ("connect-ok-data", ex(4, [34, 5], HELLO_OK + "STREAM STATUS RESULT=OK\nHTTP/1.1 200 OK\r\n")),
    ("connect-ping-first", ex(4, [], "PING 1700000000000\n" + HELLO_OK + "PING 2\nSTREAM STATUS RESULT=OK\ndata")),
    ("connect-cant-reach", ex(4, [], HELLO_OK + "STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=\"LeaseSet not found\"\n")),
    ("connect-i2pd-session-status", ex(4 | NO_HELLO | 0x20, [], 'SESSION STATUS RESULT=I2P_ERROR MESSAGE="Socket already in use"\n')),
    ("connect-silent-data", ex(5, [], HELLO_OK + "hello from B\n")),
    ("connect-silent-no-hello", ex(5 | NO_HELLO, [2], "STREAM STATUS RESULT=OK\n")),
    ("accept-i2pd-data-same-read", ex(6, [], HELLO_OK + "STREAM STATUS RESULT=OK\n" + ZZZ + "\nhello from A\n")),
    ("accept-java-ports-split", ex(6 | NO_HELLO | 0x20, [23, 0, 100], "STREAM STATUS RESULT=OK\n" + ZZZ + " FROM_PORT=1234 TO_PORT=0\nGET / HTTP/1.1\r\n")),
    ("accept-router-restart", ex(6, [], HELLO_OK + "STREAM STATUS RESULT=OK\nSTREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Router restart\"\n")),
    ("accept-silent", ex(7, [], HELLO_OK + "early-data\n")),
    ("forward-ok", ex(8, [], HELLO_OK + "STREAM STATUS RESULT=OK\n")),
    ("forward-already-accepting", ex(8 | NO_HELLO, [], 'SESSION STATUS RESULT=I2P_ERROR MESSAGE="Already accepting"\n')),
    ("forwarded-peer-data", ex(9, [], I2P_PROJEKT + "\ndata-from-A\n")),
    ("forwarded-peer-bytewise", ex(9, [0, 1], ZZZ + " FROM_PORT=7 TO_PORT=8\nx")),
    ("session-add-ok-i2pd", ex(10, [], "HELLO REPLY RESULT=OK VERSION=3.3\nSESSION STATUS RESULT=OK DESTINATION=" + PRIV + "\n")),
    ("session-add-ok-java", ex(10 | NO_HELLO | 0x20, [], 'SESSION STATUS RESULT=OK ID="sub-1" MESSAGE="ADD sub-1"\n')),
    ("session-remove-invalid-key", ex(11, [], HELLO_OK + "SESSION STATUS RESULT=INVALID_KEY\n")),
]
for n, d in E:
    seed("exchange", n, d)


# ---- control: header (version/command/flags, split count/flags, splits) + session socket bytes --
def ctl(version, command, splits, bridge, restart=False, eof=False, drain=False, transmit=False):
    b0 = version | (command << 2) | (0x40 if restart else 0) | (0x80 if eof else 0)
    b1 = len(splits) | (0x08 if drain else 0) | (0x10 if transmit else 0)
    body = bridge.encode("latin-1") if isinstance(bridge, str) else bridge
    return bytes([b0, b1]) + bytes(splits) + body


NONE = 15
V31, V33 = 1, 3
K = [
    ("lookup-ping-then-not-found", ctl(V31, 0, [], "PING 1700000000000\nNAMING REPLY RESULT=KEY_NOT_FOUND NAME=ME\n")),
    ("lookup-ok", ctl(V33, 0, [60, 3], "NAMING REPLY RESULT=OK NAME=ME VALUE=" + PUB + "\n", eof=True)),
    ("add-ok-i2pd", ctl(V33, 1, [], "SESSION STATUS RESULT=OK DESTINATION=" + PRIV + "\n", transmit=True)),
    ("add-duplicated-restart", ctl(V33, 1, [36], "SESSION STATUS RESULT=DUPLICATED_ID\n" * 2, restart=True, drain=True)),
    ("remove-invalid-key", ctl(V33, 2, [], "SESSION STATUS RESULT=INVALID_KEY\n")),
    ("ping-pong", ctl(V33, 4, [], "PONG 1700000000000\n")),
    ("ping-bare-pong-restart", ctl(V33, 3, [4], "PONG\nPONG\nPING\n", restart=True, transmit=True)),
    ("quit-java", ctl(V33, 5, [], "QUIT STATUS RESULT=OK MESSAGE=bye\n", eof=True)),
    ("quit-eof", ctl(V31, 5, [], "", eof=True)),
    ("datagram-send-then-received", ctl(V31, 6, [], "DATAGRAM RECEIVED DESTINATION=" + PUB + " SIZE=7\nhello-1")),
    ("raw-send-then-raw-received-java", ctl(V33, 7, [10, 0], "RAW RECEIVED SIZE=5 PROTOCOL=18 FROM_PORT=0 TO_PORT=0\na\nb\x00c", drain=True)),
    ("size-mismatch-refused", ctl(V31, 8, [], "RAW RECEIVED SIZE=0\n")),
    ("datagram-java-ports-bytewise", ctl(V33, NONE, [0], "DATAGRAM RECEIVED DESTINATION=" + ZZZ + " SIZE=2 FROM_PORT=0 TO_PORT=0\n\n\n")),
    ("unsolicited-pong-timeout", ctl(V33, NONE, [], 'SESSION STATUS RESULT=I2P_ERROR MESSAGE="PONG timeout"\n', eof=True)),
    ("java-invalid-state-while-lookup", ctl(V33, 0, [], 'NAMING STATUS RESULT=I2P_ERROR MESSAGE="invalid state"\n')),
    ("garbage-line", ctl(V33, NONE, [], "HELLO THERE\nPING x\n")),
    ("size-too-big", ctl(V33, NONE, [], "DATAGRAM RECEIVED DESTINATION=A SIZE=99999999\nPING y\n")),
    ("ping-crlf-3.0", ctl(0, NONE, [5, 1], "PING a\r\nPING  b\r\n", transmit=True)),
    # DATAGRAM3 on i2pd 2.59 (probe, 2026-12-03): the sender is a 44-char base64 hash.
    ("datagram3-hash-i2pd-2.59", ctl(V33, NONE, [3], "DATAGRAM RECEIVED DESTINATION=" + DG3_HASH + " SIZE=9 FROM_PORT=7 TO_PORT=9\nhello-b2a")),
    ("datagram2-then-datagram3", ctl(V33, NONE, [], "DATAGRAM RECEIVED DESTINATION=" + PUB + " SIZE=2 FROM_PORT=0 TO_PORT=0\n\n\nDATAGRAM RECEIVED DESTINATION=" + DG3_HASH + " SIZE=1\nx")),
]
for n, d in K:
    seed("control", n, d)

# ---- datagram: UDP packets (sam-proto/PROTOCOL.md §8, §11.4; transcripts Q7) --------------------
D = [
    ("udp-3.0-ed25519-dest", "3.0 d1 " + PUB + "\nhello-1"),
    ("udp-3.0-dsa-dest", "3.0 mysession " + I2P_PROJEKT + "\n\x00\n\xffbinary"),
    ("udp-java-options", "3.0 mysession " + I2P_PROJEKT + " TO_PORT=5678 SEND_TAGS=19 TAG_THRESHOLD=13 EXPIRES=33 SEND_LEASESET=true\npayload"),
    ("udp-3.1-ports-crlf", "3.1 d2 " + I2P_PROJEKT + " FROM_PORT=1234 TO_PORT=5678 PROTOCOL=18\r\nx"),
    ("udp-b32-dest", "3.0 dg " + ZZZ_B32 + "\n"),
    ("repliable-i2pd", I2P_PROJEKT + "\nhello-1"),
    ("repliable-java-ports", ZZZ + " FROM_PORT=0 TO_PORT=0\npayload"),
    ("raw-header-java", "PROTOCOL=18 FROM_PORT=0 TO_PORT=0\npayload"),
    ("raw-header-reordered", "TO_PORT=2 FROM_PORT=1 PROTOCOL=18\n"),
    ("raw-no-header", "hello"),
    ("empty-header-line", "\n\n"),
    # DATAGRAM3 forwarded by i2pd 2.59 (probe, 2026-12-03), with Java-style ports, and a
    # full destination in the hash's place; a forbidden RAW protocol in a UDP header.
    ("datagram3-hash-i2pd-2.59", DG3_HASH + "\nhello-a2b"),
    ("datagram3-hash-ports", DG3_HASH + " FROM_PORT=7 TO_PORT=9\npayload"),
    ("datagram3-full-destination", PUB + "\nx"),
    ("udp-raw-forbidden-protocol", "3.0 r1 " + PUB + " PROTOCOL=17\nx"),
    ("udp-option-value-with-equals", "3.0 d1 " + PUB + " SEND_TAGS=1=2\nx"),
]
for n, d in D:
    seed("datagram", n, d)

# ---- keys: raw blobs, base64 text, b32 addresses, sig type names --------------------------------
KEYS = [
    ("dest-zzz-ed25519.bin", b64d(ZZZ)),
    ("dest-i2p-projekt-dsa.bin", b64d(I2P_PROJEKT)),
    ("dest-tracker-p256.bin", b64d(TRACKER)),
    ("dest-secure-p521.bin", b64d(SECURE)),
    ("priv-ed25519.bin", PRIV_BYTES),
    ("priv-offline.bin", OFFLINE_BYTES),
    ("priv-dsa-constructed.bin", DSA_PRIV_BYTES),
    ("priv-x25519-constructed.bin", X25519_PRIV_BYTES),
    ("priv-p521-constructed.bin", P521_PRIV_BYTES),
    ("dest-i2pnews.b64", I2PNEWS),
    ("dest-secure-p521.b64", SECURE),
    ("priv-ed25519.b64", PRIV),
    ("priv-offline.b64", b64e(OFFLINE_BYTES)),
    ("dest-reply-line", "DEST REPLY PUB=" + PUB + " PRIV=" + PRIV + "\n"),
    ("b32-constructed", PUB_B32),
    ("b32-upper-suffix", "udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.B32.I2P"),
    ("b33-blinded", "b" * 56 + ".b32.i2p"),
    ("sigtypes", "7 EdDSA_SHA512_Ed25519 ecdsa_sha256_p256 11 99 RedDSA_SHA512_Ed25519"),
    ("base64-padding-noncanonical", "AAB= AA== A=== AAA AB==\n"),
    ("dest-truncated.bin", b64d(ZZZ)[:390]),
]
for n, d in KEYS:
    seed("keys", n, d)

# ---- roundtrip: structured input (arbitrary::Unstructured), pseudo-random ----------------------
rng = random.Random(0x5A3)
for i, size in enumerate([16, 32, 48, 64, 96, 128, 192, 256, 384, 512]):
    seed("roundtrip", "random-%02d-%d" % (i, size), bytes(rng.randrange(256) for _ in range(size)))
for i in range(4):
    # printable input: the text generators then pick many quotes, spaces and protocol words
    seed("roundtrip", "printable-%d" % i, bytes(rng.choice(b' "\\=abcXYZ019\t\n~') for _ in range(200)))


def main():
    for target, files in sorted(S.items()):
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if old.startswith("seed-") and old not in files:
                os.remove(os.path.join(d, old))
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        total = sum(len(v) for v in files.values())
        print("%-10s %3d seeds %6d bytes" % (target, len(files), total), file=sys.stderr)


if __name__ == "__main__":
    main()
