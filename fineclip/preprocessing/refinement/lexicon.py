"""The word lists of refinement: what counts as an emotion word, a hedge
or a facial term, and what a description emptied by refinement becomes.

Data only; :mod:`.tokens` turns them into matchers. Closed-class words that
steer how clauses are cut live in :mod:`.function_words`.
"""
from typing import Dict, Tuple

#: Emotion words by category: every class name of DFEW, FERV39k and MAFW
#: with its synonyms and derivations, words naming an expression
#: (``'expression_words'``) and generic affect words. Inflections need not
#: be listed (matching is by stem) except where the stemmer keeps forms
#: apart ("happily" -> "happili", "happy" -> "happi").
#:
#: Expression words: a smile, frown, grin, scowl or grimace is a movement of
#: the face, but the word names the expression class rather than the
#: movement ("the corners of the mouth turn up" is the movement a smile
#: labels), and the paper's refinement removes emotional expressions, so
#: they count as emotion words. Likewise laughing, crying and tears.
EMOTION_LEXICON: Dict[str, Tuple[str, ...]] = {
    'happy': (
        'happy', 'happier', 'happiest', 'happiness', 'happily', 'joy',
        'joyful', 'joyfully', 'joyous', 'glad', 'gladly', 'gladness',
        'cheerful', 'cheerfully', 'cheerfulness', 'cheery', 'delight',
        'delighted', 'delightful', 'pleased', 'pleasure', 'pleasant',
        'contented', 'contentment', 'amused', 'amusement', 'amusing',
        'elated', 'elation', 'euphoric', 'euphoria', 'gleeful', 'glee',
        'merry', 'jolly', 'jovial', 'excited', 'excitement', 'thrilled',
        'enjoyment', 'enjoying', 'satisfied', 'satisfaction', 'playful',
        'playfully', 'friendly', 'warmth', 'warmly'),
    'sad': (
        'sad', 'sadder', 'saddest', 'sadly', 'sadness', 'sorrow',
        'sorrowful', 'unhappy', 'unhappiness', 'upset', 'gloomy', 'gloom',
        'melancholy', 'melancholic', 'grief', 'grieving', 'mournful',
        'mourning', 'miserable', 'misery', 'despair', 'despondent',
        'dejected', 'dejection', 'forlorn', 'heartbroken', 'glum', 'somber',
        'sombre', 'sulky', 'sulking', 'sullen', 'woeful', 'distraught'),
    'angry': (
        'angry', 'angrier', 'angrily', 'anger', 'angered', 'furious',
        'furiously', 'fury', 'mad', 'irritated', 'irritation', 'irritable',
        'annoyed', 'annoyance', 'rage', 'raging', 'enraged', 'hostile',
        'hostility', 'irate', 'livid', 'outraged', 'outrage', 'resentful',
        'resentment', 'indignant', 'indignation', 'frustrated',
        'frustration', 'aggressive', 'aggression', 'fierce', 'fiercely',
        'stern', 'sternly', 'displeased', 'displeasure', 'exasperated',
        'glare', 'glaring', 'glower', 'glowering'),
    'surprise': (
        'surprise', 'surprised', 'surprising', 'surprisingly',
        'astonished', 'astonishment', 'amazed', 'amazement', 'amazing',
        'shocked', 'shock', 'startled', 'startle', 'stunned',
        'awe', 'awestruck', 'disbelief', 'incredulous', 'incredulity'),
    'disgust': (
        'disgust', 'disgusted', 'disgusting', 'revulsion', 'repulsed',
        'repulsion', 'repulsive', 'repelled', 'distaste', 'distasteful',
        'aversion', 'revolted', 'nauseated', 'nausea', 'grossed',
        'loathing'),
    'fear': (
        'fear', 'fearful', 'fearfully', 'afraid', 'scared', 'scary',
        'frightened', 'fright', 'terrified', 'terror', 'panic',
        'panicked', 'panicky', 'horror', 'horrified', 'dread',
        'alarmed', 'alarm', 'apprehensive', 'apprehension',
        'threatened'),
    'neutral': (
        'neutral', 'neutrally', 'neutrality', 'calm', 'calmly', 'calmness',
        'composed', 'composure', 'expressionless', 'impassive', 'blank',
        'blankly', 'indifferent', 'indifference', 'unemotional',
        'emotionless', 'placid', 'serene', 'serenity', 'stoic', 'deadpan',
        'unmoved', 'unfazed', 'poker'),
    'contempt': (
        'contempt', 'contemptuous', 'contemptuously', 'disdain',
        'disdainful', 'disdainfully', 'scorn', 'scornful', 'derision',
        'derisive', 'mocking', 'mockery', 'sarcastic', 'sarcasm',
        'condescending', 'smug', 'smugly', 'arrogant', 'arrogance',
        'dismissive', 'dismissively'),
    'anxiety': (
        'anxiety', 'anxious', 'anxiously', 'nervous', 'nervously',
        'nervousness', 'worried', 'worry', 'worrying', 'uneasy', 'unease',
        'uneasiness', 'stressed', 'stress', 'distressed', 'distress',
        'agitated', 'agitation', 'restless', 'restlessness', 'fidgety',
        'jittery', 'concerned', 'concern', 'insecure', 'insecurity'),
    'helplessness': (
        'helpless', 'helplessly', 'helplessness', 'powerless',
        'powerlessness', 'hopeless', 'hopelessly', 'hopelessness',
        'defeated', 'defeat', 'resigned', 'resignation', 'overwhelmed'),
    'disappointment': (
        'disappointed', 'disappointment', 'disappointing', 'dismayed',
        'dismay', 'discouraged', 'disheartened', 'crestfallen', 'regret',
        'regretful', 'letdown'),
    'expression_words': (
        'smile', 'smiling', 'smiley', 'grin', 'grinning', 'beaming',
        'laugh', 'laughing', 'laughter', 'giggle', 'chuckle', 'smirk',
        'frown', 'frowning', 'scowl', 'scowling', 'grimace', 'grimacing',
        'sneer', 'sneering', 'snarl', 'pout', 'pouting', 'cry', 'crying',
        'weep', 'weeping', 'sob', 'sobbing', 'tear', 'tears', 'tearful',
        'teary'),
    'generic': (
        'emotion', 'emotions', 'emotional', 'emotionally', 'emotive',
        'feel', 'feeling', 'feelings', 'mood', 'moody', 'sentiment',
        'affective', 'positive', 'negative', 'pain', 'painful', 'relief',
        'relieved', 'embarrassed', 'embarrassment', 'shame', 'ashamed',
        'guilt', 'guilty', 'pride', 'proud', 'love', 'hate', 'hatred',
        'bored', 'boredom', 'confused', 'confusion', 'puzzled',
        'perplexed', 'bewildered', 'pensive', 'thoughtful',
        'contemplative', 'curious', 'curiosity', 'shy', 'jealous', 'envy',
        'lonely', 'loneliness', 'mental', 'mentally', 'excitedly'),
}

#: Lexicon words matched only as written, never by stem, because their
#: Porter stem is shared with a harmless word of facial descriptions:
#: "positive"/"position" -> "posit", "contentment"/"content" -> "content",
#: "concern"/"concerning" (preposition), "stress"/"stressed" (also used of
#: syllables), "warmth"/"warm" (skin tone), "pleasant"/"please",
#: "resignation"/"resign", "defeat"/"defeated" kept literal for symmetry.
EXACT_ONLY = frozenset({
    'positive', 'negative', 'contented', 'contentment', 'concern',
    'concerned', 'pleasant', 'warmth', 'warmly', 'resigned', 'resignation',
    'blank', 'blankly', 'poker', 'mental', 'mentally', 'friendly', 'alarm',
    'threatened', 'stress', 'stressed', 'shock', 'composed', 'letdown'})

#: Words deliberately left out of the lexicon, with the reason. Most are
#: muscle movements in the FACS sense that the refined text should keep; a
#: sentence that only attributes them to the person ("She looks tense.")
#: is still dropped by the attribution rule (see
#: :meth:`.refiner.DescriptionRefiner.refine`).
NOT_IN_LEXICON: Dict[str, str] = {
    'tense': 'muscles tense (AU 23/24 lip tightening): a movement',
    'tension': 'muscle tension around the mouth or jaw: a movement',
    'relaxed': 'the face/jaw relaxes: a movement back to rest',
    'depressed': 'lip-corner depressor (AU 15): the corners are depressed',
    'downcast': 'gaze direction (eyes downcast)',
    'furrow': 'brow lowering (AU 4): "the brows furrow" is the movement',
    'wince': 'a movement (eyes squeeze, cheeks raise); names no class',
    'gasp': 'breathing, which the prompt asks for; names no class',
    'sigh': 'breathing, which the prompt asks for; names no class',
    'made': 'shares no stem with "mad" ("made" -> "made"); never matched',
    'content': 'mostly "the content of"; only "contented"/"contentment" '
               'are emotion words',
    'down': '"feeling down" is dropped through "feeling"; "down" is a '
            'direction',
}

#: Phrases that introduce an interpretation of the movements. A hedge and
#: what follows it up to the next comma, semicolon or the end of the
#: sentence are cut. Matched on lowercase tokens, as written (no stemming:
#: "expression" must not match "expressing").
INTERPRETATION_HEDGES: Tuple[str, ...] = (
    'suggesting', 'suggests', 'suggested', 'suggest', 'suggestive of',
    'indicating', 'indicates', 'indicated', 'indicate', 'indicative of',
    'implying', 'implies', 'implied', 'imply',
    'a sense of', 'sense of', 'conveying', 'conveys', 'convey',
    'expressing', 'expresses', 'express', 'reflecting', 'reflects',
    'reflect', 'as if', 'as though', 'which shows', 'which show',
    'which showed', 'that shows', 'showing that', 'shows that',
    'showing signs of', 'shows signs of', 'revealing that', 'reveals that',
    'hinting at', 'hints at', 'hint at', 'a sign of', 'a sign that',
    'signs of', 'signaling', 'signalling', 'signals', 'signifying',
    'signifies', 'pointing to', 'points to', 'denoting', 'denotes',
    'betraying', 'betrays', 'characteristic of', 'typical of',
    'consistent with', 'associated with', 'in response to', 'possibly due',
    'likely due', 'probably due')

#: Facial parts and movements (matched by stem): a clause holding one of
#: them describes the face, one without is about something else.
FACIAL_TERMS: Tuple[str, ...] = (
    'face', 'facial', 'feature', 'features', 'eye', 'eyes', 'eyebrow',
    'eyebrows', 'brow', 'brows', 'eyelid', 'eyelids', 'lid', 'lids',
    'eyelash', 'lashes', 'pupil', 'pupils', 'iris', 'gaze', 'glance',
    'stare', 'staring', 'blink', 'blinking', 'squint', 'wink', 'forehead',
    'temple', 'cheek', 'cheeks', 'cheekbone', 'dimple', 'nose', 'nostril',
    'nostrils', 'mouth', 'lip', 'lips', 'jaw', 'jawline', 'chin', 'teeth',
    'tooth', 'tongue', 'wrinkle', 'wrinkles', 'crease', 'creases',
    'furrow', 'furrows', 'skin', 'muscle', 'muscles', 'head', 'neck',
    'throat', 'breath', 'breathing', 'breathe', 'inhale', 'exhale',
    'nod', 'nodding', 'swallow', 'gulp', 'sigh', 'gasp', 'wince')

#: What a description with nothing left after refinement becomes. It names
#: no feature and no emotion; being one fixed string it says nothing about
#: the clip (if fallbacks concentrate in one class, the report shows it).
FALLBACK_TEXT = 'The face moves.'
