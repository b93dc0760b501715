import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sentencesOf, VOICE_VARIANTS } from '../../scripts/synthetic-speech.ts';

it('keeps prose quotations of 40–240 characters, drops attributions, code, shouting, dialogue and repeats', () => {
  const text = [
    'A journey of a thousand miles begins with a single step, or so they say.\n\t\t-- Lao Tzu',
    'Short one.',
    'for (i = 0; i < n; i++) { printf("%d\\n", i); } is not something to read aloud, ever.',
    'THIS IS SHOUTED AT THE READER and would come out letter by letter from the voice.',
    'Q: Why did the chicken cross the road? A: To get to the other side of the road.',
    'A journey of a thousand miles begins with a single step, or so they say.',
    'x'.repeat(250),
  ].join('\n%\n');
  assert.deepEqual(sentencesOf(text), [
    'A journey of a thousand miles begins with a single step, or so they say.',
  ]);
});

it('voices: none is a speaker of the data, every one with a sensible pitch target and rate', () => {
  const held = ['aew', 'axb', 's30', 's31', 's32', 's33', 's34', 's35', 's36', 's37'];
  for (const v of VOICE_VARIANTS) {
    assert.ok(!held.includes(v.speaker), v.speaker);
    assert.ok(v.f0Mean === null || (v.f0Mean >= 80 && v.f0Mean <= 260), `${v.speaker} ${v.f0Mean}`);
    assert.ok(v.stretch >= 0.8 && v.stretch <= 1.2);
  }
  assert.equal(new Set(VOICE_VARIANTS.map((v) => v.speaker)).size, 7);
});
