// The one description of avsc's type objects. avsc's typings declare `fields`, `types`, `itemsType`... on its
// subclasses only; at runtime every Type carries what its kind needs. Code that walks a schema reads it through
// `avroNode` instead of describing avsc privately.
import type { Type } from 'avsc';

export type AvroNode = Type & {
  readonly typeName: string;
  readonly name?: string | undefined;
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: Type }>;
  readonly symbols?: readonly string[];
  readonly types?: readonly Type[];
  readonly itemsType?: Type;
  readonly valuesType?: Type;
  readonly size?: number;
  readonly underlyingType?: Type;
};

export const avroNode = (type: Type): AvroNode => type;
