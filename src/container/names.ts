import { WharfError } from '../errors/index.js';
import { randomHex, randomIndex } from '../util/index.js';

// A short selection of Docker's namesgenerator lists (moby/pkg/namesgenerator).
const LEFT = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold',
  'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'cranky', 'crazy',
  'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent',
  'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted',
  'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring',
  'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic', 'peaceful',
  'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing', 'relaxed', 'reverent', 'romantic',
  'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious', 'sweet', 'tender',
  'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial',
  'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'albattani', 'allen', 'almeida', 'archimedes', 'ardinghelli', 'aryabhata', 'austin', 'babbage', 'banach', 'bardeen',
  'bartik', 'bassi', 'bell', 'benz', 'bhabha', 'black', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'boyd', 'brahmagupta',
  'brattain', 'brown', 'carson', 'cerf', 'chandrasekhar', 'chatelet', 'chaum', 'clarke', 'colden', 'cori', 'cray', 'curie',
  'darwin', 'davinci', 'dijkstra', 'dubinsky', 'easley', 'edison', 'einstein', 'elion', 'engelbart', 'euclid', 'euler',
  'faraday', 'feistel', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gates', 'goldberg', 'goldstine',
  'goldwasser', 'golick', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hermann', 'hodgkin', 'hofstadter', 'hopper',
  'hugle', 'hypatia', 'jackson', 'jang', 'jennings', 'jepsen', 'johnson', 'joliot', 'jones', 'kalam', 'kare', 'keller',
  'kepler', 'khorana', 'kilby', 'kirch', 'knuth', 'kowalevski', 'lalande', 'lamarr', 'lamport', 'leakey', 'leavitt',
  'lewin', 'lichterman', 'liskov', 'lovelace', 'lumiere', 'mahavira', 'mayer', 'mccarthy', 'mcclintock', 'mclean',
  'meitner', 'mendel', 'merkle', 'minsky', 'mirzakhani', 'montalcini', 'moore', 'morse', 'murdock', 'napier', 'nash',
  'neumann', 'newton', 'nightingale', 'nobel', 'noether', 'northcutt', 'noyce', 'panini', 'pare', 'pascal', 'pasteur',
  'payne', 'perlman', 'pike', 'poincare', 'poitras', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'robinson',
  'roentgen', 'rosalind', 'saha', 'sammet', 'shamir', 'shannon', 'shaw', 'shirley', 'shockley', 'sinoussi', 'snyder',
  'spence', 'stonebraker', 'swanson', 'swartz', 'swirles', 'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira',
  'visvesvaraya', 'volhard', 'wescoff', 'wiles', 'williams', 'wilson', 'wing', 'wozniak', 'wright', 'yalow', 'yonath',
];

/** Docker's random `adjective_surname`; after a few taken tries a digit is appended, as moby does. */
export function randomName(taken: (name: string) => boolean): string {
  for (let retry = 0; retry < 10; retry++) {
    let name = `${LEFT[randomIndex(LEFT.length)]}_${RIGHT[randomIndex(RIGHT.length)]}`;
    if (name === 'boring_wozniak') continue; // Steve Wozniak is not boring (moby's rule)
    if (retry > 0) name += String(randomIndex(10));
    if (!taken(name)) return name;
  }
  return `wharf_${randomHex(6)}`;
}

/** Docker's container name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, an optional leading slash. */
export function validateName(name: string): string {
  const n = name.startsWith('/') ? name.slice(1) : name;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(n)) {
    throw new WharfError('INVALID_ARGUMENT', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return n;
}

export const newContainerId = (): string => randomHex(32);
