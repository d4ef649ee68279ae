import fc from 'fast-check';

// Mutation runs compare each mutant with the same property runs; `npm test` keeps fresh seeds.
fc.configureGlobal({ seed: 20_250_101 });
