-- dex: pure helpers of the DEX/EVA-DTS parser. No table writes here.

-- Stored with every capture so files can be re-parsed when the parser changes.
CREATE OR REPLACE FUNCTION dex.parser_version() RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'dex-sql/2'
$$;

-- An element as an integer: leading zeros and padding are common; anything else (empty,
-- letters, absurdly long) is NULL rather than an error, and so are the "not available"
-- sentinels 4294967295 and 65535. Valid is what '^ *-?[0-9]{1,18} *$' says, checked on the
-- element's shape (spaces trimmed, every digit a 9), which must be one of the 36 valid ones:
-- a regex match per element was ~7 % of an ingest. Few function calls on purpose: the
-- expression is inlined at every use, and each call in it is set up (permission check,
-- lookup) each time a statement using it starts. (bigint's input skips the spaces.)
CREATE OR REPLACE FUNCTION dex.num(element text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN translate(btrim(element, ' '), '0123456789', '9999999999') = ANY ('{9,99,999,9999,99999,999999,9999999,99999999,999999999,
                      9999999999,99999999999,999999999999,9999999999999,99999999999999,999999999999999,9999999999999999,99999999999999999,999999999999999999,
                      -9,-99,-999,-9999,-99999,-999999,-9999999,-99999999,-999999999,
                      -9999999999,-99999999999,-999999999999,-9999999999999,-99999999999999,-999999999999999,-9999999999999999,-99999999999999999,-999999999999999999}'::text[])
              THEN nullif(nullif(element::bigint, 4294967295), 65535) END
$$;

-- A machine clock reading: date YYMMDD or YYYYMMDD, time HHMM or HHMMSS (or none).
-- Machine clocks are advisory and often nonsense: anything invalid is NULL, never an error.
-- (All digits: nothing left once translate() drops them - cheaper than a regex match.)
CREATE OR REPLACE FUNCTION dex.machine_time(d text, t text DEFAULT NULL) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  y int; mo int; dd int; hh int := 0; mi int := 0; ss int := 0;
BEGIN
  d := btrim(coalesce(d, ''));
  t := btrim(coalesce(t, ''));
  IF length(d) = 8 AND translate(d, '0123456789', '') = '' THEN
    y := left(d, 4)::int; mo := substr(d, 5, 2)::int; dd := substr(d, 7, 2)::int;
  ELSIF length(d) = 6 AND translate(d, '0123456789', '') = '' THEN
    y := 2000 + left(d, 2)::int; mo := substr(d, 3, 2)::int; dd := substr(d, 5, 2)::int;
  ELSE
    RETURN NULL;
  END IF;
  IF length(t) IN (4, 6) AND translate(t, '0123456789', '') = '' THEN
    hh := left(t, 2)::int; mi := substr(t, 3, 2)::int; ss := coalesce(nullif(substr(t, 5, 2), '')::int, 0);
  ELSIF t <> '' THEN
    RETURN NULL;
  END IF;
  IF y < 1970 OR mo NOT BETWEEN 1 AND 12 OR dd < 1 OR hh > 23 OR mi > 59 OR ss > 59
     OR dd > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
    RETURN NULL;
  END IF;
  RETURN make_timestamp(y, mo, dd, hh, mi, ss);
END $$;

-- CRC-16/ARC (reflected polynomial 0xA001, init 0, no final xor; check value 0xBB3D for
-- '123456789'): the lookup tables of the slicing-by-8 method, 8 x 256 entries, table k at
-- k * 256 + 1. Table 0 is the CRC of each single byte; table k+1 is table k followed by one
-- zero byte: T[k+1][b] = (T[k][b] >> 8) # T[0][T[k][b] & 255]. (tests/sql/test_dex_parse.sql
-- works them out bit by bit and compares.) A literal, not computed here: the planner folds
-- this call into a constant each time it plans the CRC's expressions, which it does again
-- after any cache invalidation - computing the tables there cost ~18M instructions a time.
-- (binascii.crc_hqx is CRC-16/CCITT: a different CRC.)
CREATE OR REPLACE FUNCTION dex.crc16_arc_tables() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '{
    0,49345,49537,320,49921,960,640,49729,50689,1728,1920,51009,1280,50625,50305,1088,
    52225,3264,3456,52545,3840,53185,52865,3648,2560,51905,52097,2880,51457,2496,2176,51265,
    55297,6336,6528,55617,6912,56257,55937,6720,7680,57025,57217,8000,56577,7616,7296,56385,
    5120,54465,54657,5440,55041,6080,5760,54849,53761,4800,4992,54081,4352,53697,53377,4160,
    61441,12480,12672,61761,13056,62401,62081,12864,13824,63169,63361,14144,62721,13760,13440,62529,
    15360,64705,64897,15680,65281,16320,16000,65089,64001,15040,15232,64321,14592,63937,63617,14400,
    10240,59585,59777,10560,60161,11200,10880,59969,60929,11968,12160,61249,11520,60865,60545,11328,
    58369,9408,9600,58689,9984,59329,59009,9792,8704,58049,58241,9024,57601,8640,8320,57409,
    40961,24768,24960,41281,25344,41921,41601,25152,26112,42689,42881,26432,42241,26048,25728,42049,
    27648,44225,44417,27968,44801,28608,28288,44609,43521,27328,27520,43841,26880,43457,43137,26688,
    30720,47297,47489,31040,47873,31680,31360,47681,48641,32448,32640,48961,32000,48577,48257,31808,
    46081,29888,30080,46401,30464,47041,46721,30272,29184,45761,45953,29504,45313,29120,28800,45121,
    20480,37057,37249,20800,37633,21440,21120,37441,38401,22208,22400,38721,21760,38337,38017,21568,
    39937,23744,23936,40257,24320,40897,40577,24128,23040,39617,39809,23360,39169,22976,22656,38977,
    34817,18624,18816,35137,19200,35777,35457,19008,19968,36545,36737,20288,36097,19904,19584,35905,
    17408,33985,34177,17728,34561,18368,18048,34369,33281,17088,17280,33601,16640,33217,32897,16448,
    0,36865,24577,61440,49154,20483,40963,12290,49159,20486,40966,12295,5,36868,24580,61445,
    49165,20492,40972,12301,15,36878,24590,61455,10,36875,24587,61450,49160,20489,40969,12296,
    49177,20504,40984,12313,27,36890,24602,61467,30,36895,24607,61470,49180,20509,40989,12316,
    20,36885,24597,61460,49174,20503,40983,12310,49171,20498,40978,12307,17,36880,24592,61457,
    49201,20528,41008,12337,51,36914,24626,61491,54,36919,24631,61494,49204,20533,41013,12340,
    60,36925,24637,61500,49214,20543,41023,12350,49211,20538,41018,12347,57,36920,24632,61497,
    40,36905,24617,61480,49194,20523,41003,12330,49199,20526,41006,12335,45,36908,24620,61485,
    49189,20516,40996,12325,39,36902,24614,61479,34,36899,24611,61474,49184,20513,40993,12320,
    49249,20576,41056,12385,99,36962,24674,61539,102,36967,24679,61542,49252,20581,41061,12388,
    108,36973,24685,61548,49262,20591,41071,12398,49259,20586,41066,12395,105,36968,24680,61545,
    120,36985,24697,61560,49274,20603,41083,12410,49279,20606,41086,12415,125,36988,24700,61565,
    49269,20596,41076,12405,119,36982,24694,61559,114,36979,24691,61554,49264,20593,41073,12400,
    80,36945,24657,61520,49234,20563,41043,12370,49239,20566,41046,12375,85,36948,24660,61525,
    49245,20572,41052,12381,95,36958,24670,61535,90,36955,24667,61530,49240,20569,41049,12376,
    49225,20552,41032,12361,75,36938,24650,61515,78,36943,24655,61518,49228,20557,41037,12364,
    68,36933,24645,61508,49222,20551,41031,12358,49219,20546,41026,12355,65,36928,24640,61505,
    0,49233,49313,240,49473,272,480,49585,49793,720,544,49777,960,50065,50017,816,
    50433,1360,1440,50673,1088,50193,50401,1200,1920,51153,50977,1904,50881,1680,1632,50737,
    51713,2640,2720,51953,2880,51985,52193,2992,2176,51409,51233,2160,51649,2448,2400,51505,
    3840,53073,53153,4080,52801,3600,3808,52913,52609,3536,3360,52593,3264,52369,52321,3120,
    54273,5200,5280,54513,5440,54545,54753,5552,5760,54993,54817,5744,55233,6032,5984,55089,
    4352,53585,53665,4592,53313,4112,4320,53425,54145,5072,4896,54129,4800,53905,53857,4656,
    7680,56913,56993,7920,57153,7952,8160,57265,56449,7376,7200,56433,7616,56721,56673,7472,
    56065,6992,7072,56305,6720,55825,56033,6832,6528,55761,55585,6512,55489,6288,6240,55345,
    59393,10320,10400,59633,10560,59665,59873,10672,10880,60113,59937,10864,60353,11152,11104,60209,
    11520,60753,60833,11760,60481,11280,11488,60593,61313,12240,12064,61297,11968,61073,61025,11824,
    8704,57937,58017,8944,58177,8976,9184,58289,57473,8400,8224,57457,8640,57745,57697,8496,
    59137,10064,10144,59377,9792,58897,59105,9904,9600,58833,58657,9584,58561,9360,9312,58417,
    15360,64593,64673,15600,64833,15632,15840,64945,65153,16080,15904,65137,16320,65425,65377,16176,
    63745,14672,14752,63985,14400,63505,63713,14512,15232,64465,64289,15216,64193,14992,14944,64049,
    62977,13904,13984,63217,14144,63249,63457,14256,13440,62673,62497,13424,62913,13712,13664,62769,
    13056,62289,62369,13296,62017,12816,13024,62129,61825,12752,12576,61809,12480,61585,61537,12336,
    0,64513,47105,17408,12289,52224,34816,29697,24578,39939,55299,9218,20483,44034,59394,5123,
    49156,15365,30725,33796,61445,3076,18436,46085,40966,23559,6151,58374,36871,27654,10246,54279,
    49163,15370,30730,33803,61450,3083,18443,46090,40969,23560,6152,58377,36872,27657,10249,54280,
    15,64526,47118,17423,12302,52239,34831,29710,24589,39948,55308,9229,20492,44045,59405,5132,
    49173,15380,30740,33813,61460,3093,18453,46100,40983,23574,6166,58391,36886,27671,10263,54294,
    17,64528,47120,17425,12304,52241,34833,29712,24595,39954,55314,9235,20498,44051,59411,5138,
    30,64543,47135,17438,12319,52254,34846,29727,24604,39965,55325,9244,20509,44060,59420,5149,
    49178,15387,30747,33818,61467,3098,18458,46107,40984,23577,6169,58392,36889,27672,10264,54297,
    49193,15400,30760,33833,61480,3113,18473,46120,41003,23594,6186,58411,36906,27691,10283,54314,
    45,64556,47148,17453,12332,52269,34861,29740,24623,39982,55342,9263,20526,44079,59439,5166,
    34,64547,47139,17442,12323,52258,34850,29731,24608,39969,55329,9248,20513,44064,59424,5153,
    49190,15399,30759,33830,61479,3110,18470,46119,40996,23589,6181,58404,36901,27684,10276,54309,
    60,64573,47165,17468,12349,52284,34876,29757,24638,39999,55359,9278,20543,44094,59454,5183,
    49208,15417,30777,33848,61497,3128,18488,46137,41018,23611,6203,58426,36923,27706,10298,54331,
    49207,15414,30774,33847,61494,3127,18487,46134,41013,23604,6196,58421,36916,27701,10293,54324,
    51,64562,47154,17459,12338,52275,34867,29746,24625,39984,55344,9265,20528,44081,59441,5168,
    0,49213,49273,68,49393,204,136,49333,49633,476,408,49573,272,49453,49513,340,
    50113,1020,952,50053,816,49933,49993,884,544,49693,49753,612,49873,748,680,49813,
    51073,1980,2040,51141,1904,51021,50953,1844,1632,50781,50713,1572,50833,1708,1768,50901,
    1088,50301,50233,1028,50353,1164,1224,50421,50593,1436,1496,50661,1360,50541,50473,1300,
    52993,3900,3960,53061,4080,53197,53129,4020,3808,52957,52889,3748,52753,3628,3688,52821,
    3264,52477,52409,3204,52273,3084,3144,52341,52513,3356,3416,52581,3536,52717,52649,3476,
    2176,51389,51449,2244,51313,2124,2056,51253,51553,2396,2328,51493,2448,51629,51689,2516,
    52033,2940,2872,51973,2992,52109,52169,3060,2720,51869,51929,2788,51793,2668,2600,51733,
    56833,7740,7800,56901,7920,57037,56969,7860,8160,57309,57241,8100,57105,7980,8040,57173,
    7616,56829,56761,7556,56625,7436,7496,56693,56353,7196,7256,56421,7376,56557,56489,7316,
    6528,55741,55801,6596,55665,6476,6408,55605,55393,6236,6168,55333,6288,55469,55529,6356,
    55873,6780,6712,55813,6832,55949,56009,6900,7072,56221,56281,7140,56145,7020,6952,56085,
    4352,53565,53625,4420,53745,4556,4488,53685,53473,4316,4248,53413,4112,53293,53353,4180,
    53953,4860,4792,53893,4656,53773,53833,4724,4896,54045,54105,4964,54225,5100,5032,54165,
    54913,5820,5880,54981,5744,54861,54793,5684,5984,55133,55065,5924,55185,6060,6120,55253,
    5440,54653,54585,5380,54705,5516,5576,54773,54433,5276,5336,54501,5200,54381,54313,5140,
    0,53505,57857,13056,33793,21760,26112,46849,18433,39168,43520,31489,52224,7425,11777,65280,
    36866,16643,29187,41730,5123,50434,62978,9987,55299,2306,14850,60163,23554,36099,48643,28418,
    24583,45318,33286,21255,58374,13575,1543,55046,10246,63751,51719,6918,44039,32006,19974,40711,
    61445,8452,4612,49925,29700,42245,38405,18180,47108,26885,23045,35588,15365,60676,56836,3845,
    49166,4367,8719,62222,17423,38158,42510,30479,34831,22798,27150,47887,3086,56591,60943,16142,
    20492,33037,45581,25356,54285,1292,13836,59149,6157,51468,64012,11021,39948,19725,32269,44812,
    40969,28936,16904,37641,9224,62729,50697,5896,59400,14601,2569,56072,27657,48392,36360,24329,
    12299,57610,53770,779,46090,25867,22027,34570,30730,43275,39435,19210,64523,11530,7690,53003,
    49183,4382,8734,62239,17438,38175,42527,30494,34846,22815,27167,47902,3103,56606,60958,16159,
    20509,33052,45596,25373,54300,1309,13853,59164,6172,51485,64029,11036,39965,19740,32284,44829,
    40984,28953,16921,37656,9241,62744,50712,5913,59417,14616,2584,56089,27672,48409,36377,24344,
    12314,57627,53787,794,46107,25882,22042,34587,30747,43290,39450,19227,64538,11547,7707,53018,
    17,53520,57872,13073,33808,21777,26129,46864,18448,39185,43537,31504,52241,7440,11792,65297,
    36883,16658,29202,41747,5138,50451,62995,10002,55314,2323,14867,60178,23571,36114,48658,28435,
    24598,45335,33303,21270,58391,13590,1558,55063,10263,63766,51734,6935,44054,32023,19991,40726,
    61460,8469,4629,49940,29717,42260,38420,18197,47125,26900,23060,35605,15380,60693,56853,3860,
    0,49168,49187,51,49221,85,102,49270,49289,153,170,49338,204,49372,49391,255,
    49425,257,306,49442,340,49476,49527,359,408,49544,49595,427,49629,461,510,49646,
    49697,561,514,49682,612,49780,49735,599,680,49848,49803,667,49901,765,718,49886,
    816,49952,49939,771,50037,869,854,49990,50105,937,922,50058,1020,50156,50143,975,
    50241,1105,1122,50290,1028,50196,50215,1079,1224,50392,50411,1275,50317,1181,1198,50366,
    1360,50496,50547,1379,50453,1285,1334,50470,50649,1481,1530,50666,1436,50572,50623,1455,
    1632,50800,50755,1619,50725,1589,1542,50710,50921,1785,1738,50906,1708,50876,50831,1695,
    51057,1889,1874,51010,1844,50980,50967,1799,2040,51176,51163,1995,51133,1965,1950,51086,
    51329,2193,2210,51378,2244,51412,51431,2295,2056,51224,51243,2107,51277,2141,2158,51326,
    2448,51584,51635,2467,51669,2501,2550,51686,51481,2313,2362,51498,2396,51532,51583,2415,
    2720,51888,51843,2707,51941,2805,2758,51926,51753,2617,2570,51738,2668,51836,51791,2655,
    52145,2977,2962,52098,3060,52196,52183,3015,2872,52008,51995,2827,52093,2925,2910,52046,
    3264,52432,52451,3315,52357,3221,3238,52406,52297,3161,3178,52346,3084,52252,52271,3135,
    52689,3521,3570,52706,3476,52612,52663,3495,3416,52552,52603,3435,52509,3341,3390,52526,
    52961,3825,3778,52946,3748,52916,52871,3735,3688,52856,52811,3675,52781,3645,3598,52766,
    4080,53216,53203,4035,53173,4005,3990,53126,53113,3945,3930,53066,3900,53036,53023,3855,
    0,52417,55681,5440,62209,16320,10880,58945,42497,27328,32640,45889,21760,39361,35969,16448,
    3073,49344,54656,6465,65280,13249,9857,59968,43520,26305,29569,48960,22785,38336,32896,19521,
    6146,54467,49539,3394,60163,10178,12930,65091,48643,29378,26498,43843,19714,33219,38019,22594,
    5123,55490,52610,323,59138,11203,16003,62018,45570,32451,27523,42818,16643,36290,39042,21571,
    12292,64709,59781,9540,49925,4036,6788,54853,38405,23236,20356,33605,25860,43461,48261,28740,
    15365,61636,58756,10565,52996,965,5765,55876,39428,22213,17285,36676,26885,42436,45188,31813,
    10246,58567,61831,15686,56071,6086,646,52807,36359,17094,22406,39751,32006,45511,42119,26694,
    9223,59590,64902,12615,55046,7111,3719,49734,33286,20167,23431,38726,28935,48582,43142,25671,
    24584,44233,47497,30024,37641,24520,19080,34377,50697,2760,8072,54089,13576,63945,60553,8264,
    27657,41160,46472,31049,40712,21449,18057,35400,51720,1737,5001,57160,14601,62920,57480,11337,
    30730,46283,41355,27978,35595,18378,21130,40523,56843,4810,1930,52043,11530,57803,62603,14410,
    29707,47306,44426,24907,34570,19403,24203,37450,53770,7883,2955,51018,8459,60874,63626,13387,
    20492,40141,35213,17740,41741,28620,31372,46669,62989,15052,12172,58189,1292,51661,56461,4172,
    23565,37068,34188,18765,44812,25549,30349,47692,64012,14029,9101,61260,2317,50636,53388,7245,
    18446,33999,37263,23886,47887,30670,25230,44623,60943,8910,14222,64335,7438,53711,50319,2126,
    17423,35022,40334,20815,46862,31695,28303,41550,57870,11983,15247,63310,4367,56782,51342,1103}'::integer[]
$$;

-- The CRC of `data`, eight bytes per step: the register is linear in the message, so eight
-- bytes' contributions are looked up independently (table 7-k for byte k, the register's two
-- bytes folded into bytes 0 and 1) - half the time of one byte per step in PL/pgSQL, where
-- each step's interpretation costs more than its lookups. The tail goes byte by byte. `crc`
-- continues a previous run, so the exact and the "no final CRLF" variants come from one pass.
CREATE OR REPLACE FUNCTION dex.crc16_arc(data bytea, crc integer DEFAULT 0) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  n    CONSTANT integer := length(data);
  tail CONSTANT integer := n - n % 8;
BEGIN
  -- Table k starts at k * 256 + 1; (dex.crc16_arc_tables()) is a constant array, indexed directly.
  FOR i IN 0 .. tail - 8 BY 8 LOOP
    crc := (dex.crc16_arc_tables())[((crc # get_byte(data, i)) & 255) + 1793]
         # (dex.crc16_arc_tables())[(((crc >> 8) # get_byte(data, i + 1)) & 255) + 1537]
         # (dex.crc16_arc_tables())[get_byte(data, i + 2) + 1281]
         # (dex.crc16_arc_tables())[get_byte(data, i + 3) + 1025]
         # (dex.crc16_arc_tables())[get_byte(data, i + 4) + 769]
         # (dex.crc16_arc_tables())[get_byte(data, i + 5) + 513]
         # (dex.crc16_arc_tables())[get_byte(data, i + 6) + 257]
         # (dex.crc16_arc_tables())[get_byte(data, i + 7) + 1];
  END LOOP;
  FOR i IN tail .. n - 1 LOOP
    crc := (crc >> 8) # (dex.crc16_arc_tables())[((crc # get_byte(data, i)) & 255) + 1];
  END LOOP;
  RETURN crc;
END $$;

-- G85 check of one block. `body` holds the segments from ST through the line before G85,
-- already split (any of CRLF/LF/CR), so the CRC runs over CRLF-normalised lines as the
-- standard defines it whatever the stored file used. Real equipment prints the CRC in
-- lowercase, byte-swapped (pre-6.0) or computed without the final CRLF: all accepted and
-- told apart; anything else (a constant fake value, corruption) is `mismatch` - a flag,
-- not a rejection.
CREATE OR REPLACE FUNCTION dex.g85_status(body text[], reported text,
                                          OUT status text, OUT computed text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  no_final integer;
  exact    integer;
  got      integer;
BEGIN
  no_final := dex.crc16_arc(convert_to(array_to_string(body, E'\r\n'), 'UTF8'));
  exact := dex.crc16_arc('\x0d0a'::bytea, no_final);
  computed := lpad(upper(to_hex(exact)), 4, '0');
  IF reported IS NULL THEN
    status := 'absent';
    RETURN;
  END IF;
  reported := btrim(reported);
  IF reported !~ '^[0-9A-Fa-f]{4}$' THEN
    status := 'mismatch';
    RETURN;
  END IF;
  got := ('x' || lpad(reported, 8, '0'))::bit(32)::integer;
  status := CASE
    WHEN got = exact THEN 'ok'
    WHEN got = (((exact & 255) << 8) | (exact >> 8)) THEN 'ok_swapped'
    WHEN got = no_final THEN 'ok_no_final_crlf'
    ELSE 'mismatch' END;
END $$;

-- Sales between two readings of one since-init counter. These counters never reset and
-- wrap at 10^8: a drop of at least 9*10^7 from below 10^8 is a wrap (delta through the
-- wrap); any other drop is a controller reset (re-initialisation), whose sales are the
-- new reading itself. Either way the caller flags it.
CREATE OR REPLACE FUNCTION dex.counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN prev IS NULL OR cur IS NULL THEN NULL
              WHEN cur >= prev THEN cur - prev
              WHEN prev < 100000000 AND cur + 100000000 - prev <= 10000000 THEN cur + 100000000 - prev
              ELSE cur END,
         CASE WHEN prev IS NULL OR cur IS NULL THEN 'unavailable'
              WHEN cur >= prev THEN 'normal'
              WHEN prev < 100000000 AND cur + 100000000 - prev <= 10000000 THEN 'wrap'
              ELSE 'reset' END
$$;

-- The same at a register's own modulus (a controller keeping a counter in fewer digits).
CREATE OR REPLACE FUNCTION dex.counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN prev IS NULL OR cur IS NULL THEN NULL
              WHEN cur >= prev THEN cur - prev
              WHEN prev < modulus AND cur + modulus - prev <= modulus / 10 THEN cur + modulus - prev
              ELSE cur END,
         CASE WHEN prev IS NULL OR cur IS NULL THEN 'unavailable'
              WHEN cur >= prev THEN 'normal'
              WHEN prev < modulus AND cur + modulus - prev <= modulus / 10 THEN 'wrap'
              ELSE 'reset' END
$$;

-- A reported total against the sum it should equal (VA101 against the selections' PA203,
-- or against CA201+DA201+...). `counter_width`: the report is the sum modulo 10^k, a
-- controller keeping the total in a k-digit register (ΣPA2 2,348,610, VA101 348,610 -> 10^6;
-- the widest such register, since a 6-digit fit is also a 5-digit one); `mismatch`: they
-- simply disagree; NULL: nothing to compare.
-- PL/pgSQL, not SQL: a SQL function returning a record is never inlined, and each call was
-- planned afresh (three per read).
CREATE OR REPLACE FUNCTION dex.total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  p bigint;
BEGIN
  IF reported IS NULL OR expected IS NULL THEN
    RETURN;
  END IF;
  FOREACH p IN ARRAY '{10000000,1000000,100000,10000}'::bigint[] LOOP
    IF reported >= 0 AND reported < p AND expected > reported AND expected % p = reported THEN
      modulus := p;
      EXIT;
    END IF;
  END LOOP;
  kind := CASE WHEN reported = expected THEN 'ok' WHEN modulus IS NOT NULL THEN 'counter_width' ELSE 'mismatch' END;
END $$;

-- Whether an element after the first code of a MA5*ERROR line is another code: one word with
-- a letter in it (`CJ07`); numbers there are the vendor's detail (a time, a date, a count).
CREATE OR REPLACE FUNCTION dex.ma5_error_code(element text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(btrim(element) ~ '^[A-Za-z0-9_.-]*[A-Za-z][A-Za-z0-9_.-]*$', false)
$$;

-- The currency an ID4 line declares, if it declares one we can read: ID402 as a 4-digit
-- code (1xxx ISO numeric, 0xxx phone code), else ID403 as an ISO alpha code.
-- (PL/pgSQL: its lookup's plan is kept for the session; as a SQL function with a subquery it
-- was planned on every call.)
CREATE OR REPLACE FUNCTION dex.currency_of(id402 text, id403 text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  declared text;
BEGIN
  SELECT c.currency INTO declared FROM dex.currency_codes c WHERE c.dex_code = btrim(id402);
  RETURN coalesce(declared, CASE WHEN upper(btrim(id403)) ~ '^[A-Z]{3}$' AND upper(btrim(id403)) <> 'N/A'
                                 THEN upper(btrim(id403)) END);
END $$;

-- The decoder of one MA5 temperature line for a machine: model as registered, firmware as the
-- read reports it (CB104, else ID103). The most specific model pattern wins, then the most
-- specific firmware pattern, among decoders whose layout fits the line (e = the line split
-- on '*'). raw_value is the number as reported, unit C or F; divisor NULL = the scale is in
-- doubt for this model/firmware and `candidates` are the possible divisors.
CREATE OR REPLACE FUNCTION dex.ma5_decoder_for(model text, firmware text, e text[],
                                               OUT reading text, OUT raw_value numeric, OUT unit text,
                                               OUT divisor integer, OUT candidates integer[], OUT decoder_id integer)
RETURNS SETOF record LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT d.reading,
         CASE d.layout WHEN 'fahrenheit_celsius' THEN dex.num(e[4]) ELSE dex.num(e[3]) END::numeric,
         CASE WHEN d.layout = 'value_unit' AND upper(btrim(e[4])) = 'F' THEN 'F' ELSE 'C' END,
         d.divisor, d.candidate_divisors, d.id
    FROM dex.ma5_decoders d
   WHERE d.ma5_key = upper(btrim(e[2]))
     AND model ILIKE d.model_pattern
     AND coalesce(firmware, '') ILIKE d.firmware_pattern
     AND CASE d.layout
           WHEN 'fahrenheit_celsius' THEN dex.num(e[3]) IS NOT NULL AND dex.num(e[4]) IS NOT NULL
                                          AND coalesce(btrim(e[5]), '') = ''
           ELSE dex.num(e[3]) IS NOT NULL AND upper(btrim(e[4])) IN ('C', 'F')
         END
   ORDER BY d.model_pattern = '%', length(d.model_pattern) DESC,
            d.firmware_pattern = '%', length(d.firmware_pattern) DESC, d.id
   LIMIT 1
$$;

CREATE OR REPLACE FUNCTION dex.degrees_c(raw_value numeric, unit text, divisor integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(CASE unit WHEN 'F' THEN (raw_value / divisor - 32) * 5 / 9 ELSE raw_value / divisor END, 2)
$$;

-- Decode one MA5 line's temperature for a machine model, firmware unknown (e = the line
-- split on '*'). No row when no decoder fits; celsius NULL when the scale is in doubt.
CREATE OR REPLACE FUNCTION dex.ma5_temperature(model text, e text[],
                                               OUT reading text, OUT celsius numeric, OUT decoder_id integer)
RETURNS SETOF record LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT d.reading, dex.degrees_c(d.raw_value, d.unit, d.divisor), d.decoder_id
    FROM dex.ma5_decoder_for(model, NULL, e) d
$$;

-- All MA5 temperature lines of a read, decoded together so that detected and desired
-- temperatures check each other. A plausible reading is within -40..110 °C (cold drinks to
-- hot water) and the first detected is within 40 °C of the first desired: no machine runs
-- that far from its set point, a scale error (x100) does. For lines whose scale is in doubt
-- (the decoder lists candidate divisors) a candidate is used only when it is the only one
-- that passes (scale `inferred`: 600 against 400 is 6 °C, never 600 °C); otherwise the raw value is kept without
-- degrees (`in_doubt`) - 4 and 4 read as 4 °C or as 0.04 °C, and neither may be guessed.
-- A known scale that gives an implausible reading is in doubt too. `reading` is NULL for a
-- line no decoder fits (only its warning matters).
CREATE OR REPLACE FUNCTION dex.ma5_temperatures(model text, firmware text, seg text[])
RETURNS TABLE (line_no integer, reading text, celsius numeric, raw_value numeric, decoder_id integer,
               scale text, line text, warning text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH d AS MATERIALIZED (
    SELECT s.n, s.line, x.*
      -- MA5 lines with a second element, each split once (OFFSET 0: not re-split per e[k]).
      FROM (SELECT u.n::integer AS n, u.line, string_to_array(u.line, '*') AS e
              FROM unnest(seg) WITH ORDINALITY AS u(line, n)
             WHERE u.line LIKE 'MA5*%' OFFSET 0) s
      LEFT JOIN LATERAL dex.ma5_decoder_for(model, firmware, s.e) x ON true
     WHERE s.e[1] = 'MA5' AND upper(s.e[2]) LIKE '%TEMP%'
  ), k AS (
    -- Candidate divisors for the lines in doubt; 0 = no line in doubt.
    SELECT DISTINCT unnest(d.candidates) AS k FROM d WHERE d.decoder_id IS NOT NULL AND d.divisor IS NULL
    UNION ALL
    SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.decoder_id IS NOT NULL AND d.divisor IS NULL)
  ), v AS (
    SELECT k.k, d.n, d.reading, dex.degrees_c(d.raw_value, d.unit, coalesce(d.divisor, k.k)) AS c
      FROM k CROSS JOIN d WHERE d.decoder_id IS NOT NULL
  ), fit AS (
    SELECT f.*, f.in_range AND coalesce(abs(f.cur - f.tgt) <= 40, true) AS ok
      FROM (SELECT v.k, bool_and(v.c BETWEEN -40 AND 110) AS in_range,
                   (array_agg(v.c ORDER BY v.n) FILTER (WHERE v.reading = 'current'))[1] AS cur,
                   (array_agg(v.c ORDER BY v.n) FILTER (WHERE v.reading = 'target'))[1] AS tgt,
                   (array_agg(v.n ORDER BY v.n) FILTER (WHERE v.reading = 'current'))[1] AS cur_n,
                   (array_agg(v.n ORDER BY v.n) FILTER (WHERE v.reading = 'target'))[1] AS tgt_n
              FROM v GROUP BY v.k) f
  ), choice AS (
    SELECT CASE WHEN count(*) FILTER (WHERE fit.ok) = 1 THEN max(fit.k) FILTER (WHERE fit.ok)
                WHEN max(fit.k) = 0 THEN 0 END AS k
      FROM fit
  ), x AS (
    SELECT d.*, c.k, f.ok AS pair_ok, f.cur_n, f.tgt_n,
           CASE WHEN d.divisor IS NOT NULL THEN dex.degrees_c(d.raw_value, d.unit, d.divisor)
                WHEN c.k > 0 THEN dex.degrees_c(d.raw_value, d.unit, c.k) END AS c,
           (SELECT string_agg(format('%s with divisor %s', v.c, v.k), ', ' ORDER BY v.k)
              FROM v WHERE v.n = d.n AND v.k > 0) AS alternatives
      FROM d CROSS JOIN choice c LEFT JOIN fit f ON f.k = c.k
  ), y AS (
    SELECT x.*,
           CASE WHEN x.decoder_id IS NULL THEN NULL
                WHEN x.c IS NULL THEN 'in_doubt'
                WHEN x.c NOT BETWEEN -40 AND 110 THEN 'in_doubt'
                WHEN x.pair_ok IS FALSE AND x.n IN (x.cur_n, x.tgt_n) THEN 'in_doubt'
                WHEN x.divisor IS NULL THEN 'inferred'
                ELSE 'decoder' END AS scale
      FROM x
  )
  SELECT y.n, y.reading, CASE WHEN y.scale <> 'in_doubt' THEN y.c END, y.raw_value, y.decoder_id, y.scale, y.line,
         CASE
           WHEN y.decoder_id IS NULL THEN format('MA5 temperature line %L not decoded for model %L: kept raw', y.line, model)
           WHEN y.scale = 'inferred' THEN NULL
           WHEN y.divisor IS NULL THEN
             format('MA5 temperature line %L: scale in doubt for model %L firmware %L (%s): raw value %s kept, no '
                    'temperature recorded', y.line, model, firmware, y.alternatives, y.raw_value)
           WHEN y.scale = 'in_doubt' THEN
             format('MA5 temperature line %L: %s °C is implausible (outside -40..110 °C or more than 40 °C from the '
                    'desired temperature): scale in doubt for model %L firmware %L, raw value %s kept, no temperature '
                    'recorded', y.line, y.c, model, firmware, y.raw_value)
         END
    FROM y ORDER BY y.n
$$;
