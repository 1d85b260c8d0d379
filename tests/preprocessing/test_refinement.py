"""Description refinement: emotion words out, facial movements kept."""
import builtins
import importlib.util
import json

import cv2
import numpy as np
import pytest

from fineclip.apis.description_refinement import labels_from_config
from fineclip.datasets.descriptions import read_description_records
from fineclip.preprocessing import refinement as rf

# Class names of DFEW, FERV39k and MAFW, lowercase.
CLASS_NAMES = ('happy', 'sad', 'neutral', 'angry', 'surprise', 'disgust',
               'fear', 'anger', 'happiness', 'sadness', 'contempt',
               'anxiety', 'helplessness', 'disappointment')

# Video-LLaVA-style answers, each with phrases that must survive.
MLLM_CASES = [
    ('The person appears happy as the corners of the mouth turn up, '
     'suggesting joy.',
     ['the corners of the mouth turn up']),
    ('Her eyebrows furrow and lips press together, indicating anger.',
     ['Her eyebrows furrow and lips press together']),
    ("The man's mouth is slightly ajar, showing his teeth, and his eyes "
     'are narrowed, suggesting a feeling of joy or amusement.',
     ["mouth is slightly ajar", 'showing his teeth',
      'his eyes are narrowed']),
    ('The man in the video wears a sad expression, with his lips turned '
     'down. His gaze drops to the floor and he exhales slowly.',
     ['his lips turned down', 'His gaze drops to the floor',
      'he exhales slowly']),
    ('The eyebrows rise and the eyes widen in surprise, and the jaw drops '
     'open. The person seems shocked and a little scared.',
     ['The eyebrows rise and the eyes widen', 'the jaw drops open']),
    ('Her lips curve into a gentle smile and her cheeks lift, creating '
     'crinkles at the corners of the eyes. Overall, she looks content '
     'and cheerful.',
     ['Her lips curve', 'her cheeks lift',
      'crinkles at the corners of the eyes']),
    ('His nose wrinkles and the upper lip raises in disgust, conveying a '
     'strong sense of revulsion. He turns his head slightly away.',
     ['His nose wrinkles', 'the upper lip raises',
      'He turns his head slightly away']),
    ("The woman's eyes glance downward and her lips tremble; tears well "
     'up in her eyes. She appears to be deeply upset and disappointed.',
     ["eyes glance downward", 'her lips tremble']),
    ('He nervously bites his lower lip while his gaze darts around the '
     'room, reflecting anxiety. His breathing is quick and shallow.',
     ['bites his lower lip', 'his gaze darts around the room',
      'His breathing is quick and shallow']),
    ('The man has a neutral expression. His face stays still and his '
     'eyes blink occasionally, as if he is calm and composed.',
     ['His face stays still and his eyes blink occasionally']),
    ('The eyes narrow and one corner of the mouth lifts in a smirk, '
     'which shows contempt. The head tilts back slightly.',
     ['The eyes narrow', 'one corner of the mouth lifts',
      'The head tilts back slightly']),
    ('Her face shows an expression of helplessness. The inner corners of '
     'the eyebrows are raised and the mouth corners are depressed, '
     'indicating a sense of sadness and despair.',
     ['The inner corners of the eyebrows are raised',
      'the mouth corners are depressed']),
    ('The eyebrows knit together angrily and the nostrils flare. The jaw '
     'clenches with visible frustration, as though he is furious.',
     ['The eyebrows knit together', 'the nostrils flare',
      'The jaw clenches']),
]


@pytest.fixture(scope='module')
def refiner():
    return rf.DescriptionRefiner()


@pytest.mark.parametrize('text,kept', MLLM_CASES)
def test_refinement_removes_emotion_and_keeps_movements(refiner, text,
                                                         kept):
    out = refiner(text).text
    assert rf.EmotionMatcher().find(out) == [], out
    lowered = out.lower()
    for name in CLASS_NAMES:
        assert name not in lowered, (name, out)
    for phrase in kept:
        assert phrase.lower() in lowered, (phrase, out)
    assert out[0].isupper() and out.endswith('.')
    assert '  ' not in out and ' ,' not in out and ',.' not in out


def test_lexicon_covers_every_class_name():
    matcher = rf.EmotionMatcher()
    for name in CLASS_NAMES + ('smiling', 'frowns', 'grinned', 'tears',
                               'happily', 'scowls', 'laughing'):
        assert matcher.contains(f'She is {name} now'), name


def test_stemming_false_positives_are_avoided():
    matcher = rf.EmotionMatcher()
    # "made" keeps its own stem, not "mad"; "position" is not "positive".
    text = ('She made a quick turn of the head; its position changes. The '
            'jaw muscles tense, the face relaxes, and the lip corners are '
            'depressed.')
    assert matcher.find(text) == []
    assert rf.DescriptionRefiner()(text).text == text
    assert matcher.contains('The person is mad') and matcher.contains(
        'positive feelings')


def test_no_lexicon_stem_collides_with_facial_vocabulary():
    # Why EXACT_ONLY exists: a stemmed lexicon entry must not swallow
    # words facial descriptions need.
    matcher = rf.EmotionMatcher()
    words = rf.FACIAL_TERMS + (
        'position', 'made', 'content', 'raise', 'wide', 'open', 'close',
        'tighten', 'relax', 'still', 'rest', 'press', 'curl', 'drop', 'lift')
    assert [w for w in words if matcher.contains(w)] == []
    assert not set(rf.NOT_IN_LEXICON) & {
        w for ws in rf.EMOTION_LEXICON.values() for w in ws}


def test_sentence_splitting_decimals_and_abbreviations():
    text = ('The eyes widen by about 0.5 cm, e.g. at the start. Then the '
            'mouth opens! Is the jaw moving? Yes, i.e. slightly.\n'
            '1. The lids close.')
    assert rf.split_sentences(text) == [
        'The eyes widen by about 0.5 cm, e.g. at the start.',
        'Then the mouth opens!', 'Is the jaw moving?', 'Yes, i.e. slightly.',
        'The lids close.']


def test_pure_interpretation_becomes_fallback(refiner):
    result = refiner('The person seems happy. This suggests joy.')
    assert result.text == rf.FALLBACK_TEXT
    assert result.stats.fallbacks == 1
    assert result.stats.sentences_dropped == 2


def test_attribution_without_emotion_word_is_dropped(refiner):
    out = refiner('The person looks to the left and then looks tense. '
                  'She seems worn out.').text
    assert out == 'The person looks to the left.'


@pytest.mark.parametrize('text,expected', [
    # A hedge in parentheses takes only the aside.
    ('The eyebrows lower (a sign of anger) and the jaw clenches.',
     'The eyebrows lower and the jaw clenches.'),
    # The expression goes with where it sat; the gaze stays.
    ('The person is looking down with a worried look on their face, '
     'biting their lip.', 'The person is looking down, biting their lip.'),
    # Nothing facial left but the setting: the sentence goes.
    ("In the video, the man's expression turns angry. His lips part.",
     'His lips part.'),
    # A finite hedge is the clause's verb: the clause goes.
    ('The raised brows suggest surprise. The lips part.', 'The lips part.'),
    ('Her eyes dart from side to side anxiously.',
     'Her eyes dart from side to side.'),
])
def test_refinement_edge_cases(refiner, text, expected):
    assert refiner(text).text == expected


def test_repeated_sentences_are_dropped(refiner):
    result = refiner('The brows rise. The brows rise! The lips part.')
    assert result.text == 'The brows rise. The lips part.'
    assert result.stats.duplicates_dropped == 1


def _write(path, lines):
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return str(path)


@pytest.mark.parametrize('bad_line,message', [
    ('{"clip_id": "00002", "text": "x"', 'not valid JSON'),
    ('{"text": "The lips part."}', "missing 'clip_id'"),
    ('{"clip_id": "00002"}', "missing 'text'"),
    ('{"clip_id": 2, "text": "x"}', "'clip_id' must be a string"),
    ('["00002", "x"]', 'expected a JSON object'),
    ('{"clip_id": "00001", "text": "x"}', 'duplicate clip_id'),
])
def test_jsonl_errors_name_file_and_line(tmp_path, bad_line, message):
    path = _write(tmp_path / 'd.jsonl', [
        '{"clip_id": "00001", "text": "The brows rise."}', '', bad_line])
    with pytest.raises(ValueError) as err:
        read_description_records(path)
    assert f'{path}:3: ' in str(err.value) and message in str(err.value)


def test_labels_file_formats(tmp_path):
    csv_path = _write(tmp_path / 'l.csv',
                      ['clip_id,label', '00001,Happy', '00002,Sad'])
    jsonl_path = _write(tmp_path / 'l.jsonl', [
        '{"clip_id": "00001", "label": "Happy"}',
        '{"clip_id": "00002", "label": "Sad"}'])
    expected = {'00001': 'Happy', '00002': 'Sad'}
    assert rf.read_labels(csv_path) == rf.read_labels(jsonl_path) == expected
    bad = _write(tmp_path / 'b.csv', ['00001,Happy', '00001,Sad'])
    with pytest.raises(ValueError, match=r'b\.csv:2: '):
        rf.read_labels(bad)


def test_labels_from_config_reads_every_split(tmp_path):
    root = tmp_path / 'dfew'
    for clip_id, split, label in (('00001', 'train', 1),
                                  ('00002', 'test', 7)):
        frames = root / 'Clip' / 'clip_224x224' / clip_id
        frames.mkdir(parents=True)
        cv2.imwrite(str(frames / '1.jpg'), np.zeros((8, 8, 3), np.uint8))
        split_dir = root / 'EmoLabel_DataSplit' / f'{split}(single-labeled)'
        split_dir.mkdir(parents=True)
        _write(split_dir / 'set_1.csv',
               ['video_name,label', f'{int(clip_id)},{label}'])
    dataset = (f"dict(type='DFEWDataset', data_root={str(root)!r}, "
               "fold=1, split='{}', pipeline=[])")
    config = _write(tmp_path / 'cfg.py', [
        f'train_dataloader = dict(dataset={dataset.format("train")})',
        f'test_dataloader = dict(dataset={dataset.format("test")})'])
    assert labels_from_config(config) == {'00001': 'Happy',
                                          '00002': 'Fear'}


MOVEMENTS = ('the brows rise', 'the eyes widen', 'the lips part',
             'the jaw drops', 'the nose wrinkles', 'the lids close',
             'the cheeks lift', 'the chin tightens', 'the head tilts',
             'the gaze shifts left')
LABELS = ('happy', 'sad', 'neutral', 'angry', 'surprised', 'disgusted',
          'afraid')


def _toy_set(n=70, seed=0):
    """Label-leaking descriptions: the label word plus random movements
    that are independent of the label."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        moves = rng.choice(MOVEMENTS, size=2, replace=False)
        texts.append(f'The person is {label}. {moves[0].capitalize()} '
                     f'and {moves[1]}.')
        labels.append(label)
    return texts, labels


def test_classifier_sees_leak_before_and_chance_after(refiner):
    texts, labels = _toy_set()
    refined = [refiner(t).text for t in texts]
    assert all(rf.EmotionMatcher().find(t) == [] for t in refined)
    report = rf.leakage_report(texts, refined, labels, seed=0)
    clf = report['classifier']
    assert clf['accuracy_before'] > 0.95
    assert clf['uniform_chance'] == pytest.approx(1 / 7)
    assert clf['accuracy_after'] < clf['uniform_chance'] + 0.15
    assert report['lexicon']['share_before'] == 1.0
    assert report['lexicon']['share_after'] == 0.0


def test_classifier_reads_labels_from_movements_alone():
    # No emotion word anywhere, but each class has its own movement: the
    # check must see through the lexicon, or refined text would always
    # look clean.
    texts = [f'{MOVEMENTS[i % 7].capitalize()} and '
             f'{MOVEMENTS[7 + i % 3]}.' for i in range(70)]
    labels = [LABELS[i % 7] for i in range(70)]
    clf = rf.leakage_report(texts, texts, labels)['classifier']
    assert clf['accuracy_before'] == clf['accuracy_after'] > 0.95
    assert clf['uar_after'] > 0.95


def test_cross_validation_is_seeded_and_checks_its_folds():
    texts, labels = _toy_set(n=35, seed=1)
    first = rf.cross_validate(texts, labels, k=5, seed=3)
    assert first == rf.cross_validate(texts, labels, k=5, seed=3)
    assert (first['num_samples'], first['num_classes'], first['folds'],
            first['seed']) == (35, 7, 5, 3)
    assert first['majority_share'] == pytest.approx(1 / 7)
    with pytest.raises(ValueError, match='at least 5 labelled samples'):
        rf.cross_validate(texts[:4], labels[:4], k=5)
    # 3 clips per class cannot be stratified over 5 folds
    with pytest.raises(ValueError, match='largest has 3'):
        rf.cross_validate(texts[:21], labels[:21], k=5)


def _without_sklearn(monkeypatch):
    """Makes every ``import sklearn...`` fail, as if it were not
    installed (already-imported modules included)."""
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == 'sklearn' or name.startswith('sklearn.'):
            raise ImportError(f'No module named {name!r}')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', fake_import)


def test_missing_sklearn_says_what_to_install(monkeypatch, tmp_path):
    texts, labels = _toy_set(n=35)
    _without_sklearn(monkeypatch)
    hint = r'pip install "fineclip\[refine\]"'
    with pytest.raises(ImportError, match=hint):
        rf.leakage_report(texts, texts, labels)
    # without labels the classifier is not needed
    report = rf.leakage_report(texts, texts)
    assert 'classifier' not in report
    # the tool fails before it writes anything
    src = _write(tmp_path / 'in.jsonl', [
        json.dumps({'clip_id': f'{i:05d}', 'text': t})
        for i, t in enumerate(texts)])
    lab = _write(tmp_path / 'labels.csv', [
        f'{i:05d},{y}' for i, y in enumerate(labels)])
    out = tmp_path / 'out.jsonl'
    with pytest.raises(ImportError, match='scikit-learn'):
        _cli().main([src, '--out', str(out), '--labels', lab])
    assert not out.exists()


def _cli():
    # In-process (a fresh interpreter would spend seconds importing torch).
    spec = importlib.util.spec_from_file_location(
        'refine_descriptions', 'tools/data/refine_descriptions.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_same_ids_in_order_and_report(tmp_path, capsys):
    texts, labels = _toy_set(n=35)  # 5 per class: 5 stratified folds
    ids = [f'{i:05d}' for i in range(35, 0, -1)]  # not sorted on purpose
    src = _write(tmp_path / 'in.jsonl', [
        json.dumps({'clip_id': c, 'text': t}) for c, t in zip(ids, texts)])
    lab = _write(tmp_path / 'labels.csv',
                 [f'{c},{y}' for c, y in zip(ids, labels)])
    out, rep = tmp_path / 'out.jsonl', tmp_path / 'rep.json'
    _cli().main([src, '--out', str(out), '--labels', lab, '--report',
                 str(rep)])
    assert 'descriptions with emotion words' in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r['clip_id'] for r in rows] == ids
    report = json.loads(rep.read_text())
    assert report['classifier']['num_samples'] == 35
    assert report['lexicon']['share_after'] == 0.0
