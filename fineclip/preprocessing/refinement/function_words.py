"""Closed-class words the clause rules of refinement lean on.

Determiners, prepositions, intensifiers, linking verbs and conjunctions:
they decide where a clause starts and ends, which words go with an emotion
word when it is removed and which words may not end a cut clause. Data
only; see :mod:`.clauses` and :mod:`.refiner`.
"""

# Linking verbs that attribute a state to the person ("seems", "appears",
# "looks" unless it is a gaze: "looks to the left").
ATTRIBUTION_VERBS = frozenset({
    'seem', 'seems', 'seemed', 'seeming', 'appear', 'appears', 'appeared',
    'appearing'})
LOOK_VERBS = frozenset({'look', 'looks', 'looked', 'looking'})
GAZE_WORDS = frozenset({
    'at', 'to', 'away', 'down', 'up', 'around', 'toward', 'towards', 'into',
    'over', 'left', 'right', 'off', 'ahead', 'aside', 'back', 'forward',
    'straight', 'directly', 'sideways', 'upward', 'upwards', 'downward',
    'downwards', 'out', 'through', 'past', 'across', 'about', 'beyond'})
DETERMINERS = frozenset({
    'a', 'an', 'the', 'his', 'her', 'their', 'its', 'some', 'any', 'this',
    'that', 'such', 'one', 'no'})
INTENSIFIERS = frozenset({
    'very', 'slightly', 'quite', 'rather', 'somewhat', 'mildly', 'clearly',
    'visibly', 'obviously', 'deeply', 'extremely', 'really', 'fairly',
    'highly', 'slight', 'mild', 'faint', 'strong', 'intense', 'deep',
    'subtle', 'genuine', 'apparent', 'evident', 'obvious', 'clear',
    'certain', 'overall', 'general', 'more', 'most', 'less', 'a', 'bit',
    'little', 'so', 'too', 'almost', 'nearly', 'increasingly',
    'possibly', 'perhaps', 'likely', 'probably', 'maybe'})
PREPOSITIONS = frozenset({
    'in', 'with', 'of', 'from', 'into', 'for', 'out', 'by', 'at'})
# Words that go with the emotion word they qualify: "a gentle smile".
MODIFIERS = INTENSIFIERS | DETERMINERS | frozenset({
    'gentle', 'small', 'big', 'broad', 'large', 'huge', 'soft', 'warm',
    'brief', 'quick', 'sudden', 'sheepish', 'polite', 'forced', 'fake',
    'tight', 'thin', 'half', 'weak', 'wry', 'sly', 'knowing', 'wide',
    'toothy', 'closed', 'open', 'sincere', 'hint', 'trace', 'touch',
    'visible', 'noticeable', 'growing', 'rising', 'mounting', 'palpable',
    'pure', 'utter', 'sheer', 'great', 'hidden', 'suppressed',
    'restrained', 'controlled', 'momentary', 'fleeting', 'sharp'})
# Nouns an emotion word qualifies and that go with it: "a sad expression".
EXPRESSION_NOUNS = frozenset({
    'expression', 'expressions', 'look', 'demeanor', 'demeanour', 'manner',
    'way', 'mood', 'state', 'tone', 'countenance', 'air', 'sense', 'sign',
    'signs', 'hint', 'hints', 'touch', 'trace', 'display', 'show', 'mix',
    'mixture', 'combination', 'kind', 'sort', 'type', 'feeling',
    'feelings', 'emotion', 'emotions', 'moment', 'reaction', 'response'})
# Words a clause must not end on once a word is removed from it.
DANGLING = (DETERMINERS | PREPOSITIONS | INTENSIFIERS
            | ATTRIBUTION_VERBS | LOOK_VERBS | frozenset({
                'and', 'or', 'but', 'as', 'is', 'are', 'was', 'were', 'be',
                'been', 'being', 'becomes', 'become', 'became', 'shows',
                'show', 'showing', 'displays', 'display', 'displaying',
                'wears', 'wearing', 'has', 'have', 'having', 'gives',
                'giving', 'makes', 'making', 'forms', 'form', 'forming',
                'into', 'to', 'than', 'like', 'conveys', 'expresses',
                'remains', 'stays', 'turns', 'grows', 'gets', 'feels'}))
# Conjunctions that split a sentence into clauses ("as" only alone: not
# "as well as", "such as", "as if").
CLAUSE_WORDS = frozenset({
    'and', 'but', 'while', 'whereas', 'as', 'although', 'though',
    'because', 'yet'})
HARD_BOUNDARIES = frozenset({',', ';', ':', '—', '–'})
# Words left at the start once the clause before them is dropped.
LEADING_CONNECTORS = frozenset({
    'and', 'but', 'while', 'whereas', 'as', 'with', 'although', 'though',
    'because', 'yet', 'so', 'which', 'also'})
# Words before a hedge that belong to it: "..., which may suggest".
RELATIVE_WORDS = frozenset({'which', 'that', 'this', 'it', 'what'})
HEDGE_LEAD_INS = RELATIVE_WORDS | frozenset({
    'all', 'and', 'may', 'might', 'could', 'can', 'would', 'possibly',
    'perhaps', 'likely', 'probably', 'also', 'clearly', 'further',
    'thereby', 'with', 'of', 'in', 'giving', 'gives', 'creating',
    'creates', 'adding', 'adds', 'to', 'some', 'an', 'a', 'almost',
    'seemingly', 'again'})
# First words of hedges that are phrases, not verbs: "a sense of",
# "as if", "consistent with".
PHRASE_HEDGE_HEADS = frozenset({
    'a', 'as', 'sense', 'signs', 'suggestive', 'indicative',
    'characteristic', 'typical', 'consistent', 'associated', 'in',
    'possibly', 'likely', 'probably'})
